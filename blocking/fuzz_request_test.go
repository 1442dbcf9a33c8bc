package blocking

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
)

// FuzzParseRequest feeds arbitrary bytes as the payload of a blocking
// command, to the parser and to the Handler. Seeds (in
// testdata/fuzz/FuzzParseRequest) are the XEP-0191 examples.
//
// Invariants: no panic; a refused command has a condition and a text, and
// the Handler answers it with an error and changes nothing; an accepted
// command is well-formed (a block has items, items are canonical JIDs); the
// Handler's answer is routed last, to the sender, and is well-formed XML.
func FuzzParseRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte, set bool) {
		typ := stanza.GetIQ
		if set {
			typ = stanza.SetIQ
		}
		req, serr := parseRequest(typ, xml.NewDecoder(bytes.NewReader(payload)))
		if serr != nil {
			require.NotEmpty(t, serr.Condition)
			require.NotEmpty(t, serr.Text[""])
		} else {
			require.Contains(t, []op{opList, opBlock, opUnblock}, req.op)
			require.Equal(t, req.op == opList, typ == stanza.GetIQ)
			if req.op == opBlock {
				require.NotEmpty(t, req.items)
			}
			for _, it := range req.items {
				again, err := jid.Parse(it.String())
				require.NoError(t, err)
				require.True(t, again.Equal(it), "%s is canonical", it)
			}
		}

		ctx := context.Background()
		user := jid.MustParse("juliet@capulet.lit")
		session := jid.MustParse("juliet@capulet.lit/balcony")
		store := NewMemStore()
		_, err := store.Block(ctx, user, jid.MustParse("romeo@montague.net"))
		require.NoError(t, err)
		sessions := host.NewMemSessions()
		sessions.Add(host.Resource{JID: session})
		router := hosttest.NewRecorder(nil)
		h, err := NewHandler(HandlerConfig{Store: store, Sessions: sessions, Router: router})
		require.NoError(t, err)

		iq := stanza.IQ{ID: "fuzz", Type: typ, From: session}
		require.NoError(t, h.ServeIQ(ctx, iq, xml.NewDecoder(bytes.NewReader(payload)), host.RouteReplies(router)))
		routed := router.Deliveries()
		require.NotEmpty(t, routed, "answered")
		answer := routed[len(routed)-1]
		require.True(t, answer.To.Equal(session), "the answer, last, goes to the sender")
		reply := answer.Stanza
		d := xml.NewDecoder(bytes.NewReader(reply))
		for {
			if _, err := d.Token(); err != nil {
				require.ErrorIs(t, err, io.EOF, "well-formed reply %s", reply)
				break
			}
		}
		require.Equal(t, serr != nil, bytes.HasPrefix(reply, []byte(`<iq type="error"`)), "%s", reply)
		if serr != nil {
			items, err := store.Items(ctx, user)
			require.NoError(t, err)
			require.Len(t, items, 1, "a refused command changes nothing")
			require.Len(t, routed, 1, "a refused command pushes nothing")
		}
	})
}
