package pam

import (
	"bytes"
	"context"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
)

// serveMux runs one IQ through a mellium ServeMux built with Handle for
// client A's session, and returns what the handler wrote, parsed.
func serveMux(t *testing.T, e *joinEnv, rawIQ string) testStanza {
	t.Helper()
	m := mux.New(ns.Client, Handle(t.Context(), e.h, testClientA))
	dec := xml.NewDecoder(strings.NewReader(rawIQ))
	tok, err := dec.Token()
	require.NoError(t, err)
	start := tok.(xml.StartElement)
	var out bytes.Buffer
	enc := xml.NewEncoder(&out)
	rw := struct {
		xml.TokenReader
		xmlstream.Encoder
	}{dec, enc}
	require.NoError(t, m.HandleXMPP(rw, &start))
	require.NoError(t, enc.Flush())

	// The output must be well-formed, each namespace declared once
	// (xml.Decoder does not reject repeated attributes: check them here).
	requireNoRepeatedAttrs(t, out.Bytes())
	written := xml.NewDecoder(bytes.NewReader(out.Bytes()))
	tok, err = written.Token()
	require.NoError(t, err, out.String())
	ws := tok.(xml.StartElement)
	iq, err := stanza.NewIQ(ws)
	require.NoError(t, err)
	payload, err := xmlenc.Marshal(xmlstream.Inner(written), ns.Client)
	require.NoError(t, err, out.String())
	return testStanza{IQ: iq, Payload: string(payload)}
}

func TestJoinMuxHandle(t *testing.T) {
	iq := func(attrs, payload string) string {
		return `<iq xmlns='jabber:client' ` + attrs + `>` + payload + `</iq>`
	}
	t.Run("join then leave", func(t *testing.T) {
		e := newJoinEnv(t, JoinConfig{}, nil)
		e.setChannel(testChannel, func(req testStanza) { e.reply(req, stanza.ResultIQ, resultFor(req)) })
		got := serveMux(t, e, iq(`type='set' id='m1' to='hag66@shakespeare.example'`, testClientJoin))
		// Handle blocked until the answer was there: no waiting needed.
		require.Equal(t, stanza.ResultIQ, got.IQ.Type, got.Payload)
		require.Equal(t, "m1", got.IQ.ID)
		require.Equal(t, testUser.String(), got.IQ.From.String())
		require.Equal(t, testClientA.String(), got.IQ.To.String())
		require.Equal(t, canonicalXML(t, `<client-join xmlns="urn:xmpp:mix:pam:2">`+resultFor(testStanza{})+`</client-join>`),
			canonicalXML(t, got.Payload))
		items, _ := e.items()
		require.Len(t, items, 1)

		got = serveMux(t, e, iq(`type='set' id='m2'`,
			`<client-leave xmlns='urn:xmpp:mix:pam:2' channel='coven@mix.shakespeare.example'><leave xmlns='urn:xmpp:mix:core:1'/></client-leave>`))
		require.Equal(t, stanza.ResultIQ, got.IQ.Type, got.Payload)
		require.Equal(t, canonicalXML(t, `<client-leave xmlns="urn:xmpp:mix:pam:2"><leave xmlns="urn:xmpp:mix:core:1"/></client-leave>`),
			canonicalXML(t, got.Payload))
		items, _ = e.items()
		require.Empty(t, items)
	})
	t.Run("channel error with a prefixed attribute", func(t *testing.T) {
		e := newJoinEnv(t, JoinConfig{}, nil)
		const errElem = `<error type="cancel"><conflict xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><x xmlns="urn:example" xmlns:p="urn:example:p" p:a="1"/></error>`
		e.setChannel(testChannel, func(req testStanza) { e.reply(req, stanza.ErrorIQ, errElem) })
		got := serveMux(t, e, iq(`type='set' id='m1'`, testClientJoin))
		require.Equal(t, canonicalXML(t, errElem), canonicalXML(t, got.Payload))
	})
	t.Run("forged from", func(t *testing.T) {
		// host.Mux's policy (RFC 6120 §8.1.2.1): a from the client wrote is
		// overridden with the session's; the join goes out for the
		// session's user and is answered to the session.
		e := newJoinEnv(t, JoinConfig{}, nil)
		var sent testStanza
		e.setChannel(testChannel, func(req testStanza) { sent = req; e.reply(req, stanza.ResultIQ, resultFor(req)) })
		got := serveMux(t, e, iq(`type='set' id='m1' from='hecate@shakespeare.example/x'`, testClientJoin))
		require.Equal(t, stanza.ResultIQ, got.IQ.Type, got.Payload)
		require.Equal(t, testClientA.String(), got.IQ.To.String())
		require.Equal(t, testUser.String(), sent.IQ.From.String())
	})
	t.Run("type get", func(t *testing.T) {
		e := newJoinEnv(t, JoinConfig{}, nil)
		got := serveMux(t, e, iq(`type='get' id='m1'`, testClientJoin))
		requireError(t, got, stanza.Modify, stanza.BadRequest)
		require.Empty(t, e.rec.Deliveries())
	})
}

// When the session's context ends while the channel has not answered, the
// mux handler stops waiting and returns the context's error (which ends
// mellium's session); the request still finishes on its own.
func TestJoinMuxHandleContextEnds(t *testing.T) {
	e := newJoinEnv(t, JoinConfig{}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	m := mux.New(ns.Client, Handle(ctx, e.h, testClientA))
	dec := xml.NewDecoder(strings.NewReader(`<iq xmlns='jabber:client' type='set' id='m1'>` + testClientJoin + `</iq>`))
	tok, err := dec.Token()
	require.NoError(t, err)
	start := tok.(xml.StartElement)
	var out bytes.Buffer
	rw := struct {
		xml.TokenReader
		xmlstream.Encoder
	}{dec, xml.NewEncoder(&out)}
	require.ErrorIs(t, m.HandleXMPP(rw, &start), context.Canceled)
	require.Empty(t, out.String(), "nothing written")

	req := e.awaitRequests(testChannel, 1)[0]
	require.Equal(t, "m1", req.IQ.ID, "the request went on")
	e.reply(req, stanza.ResultIQ, `<join xmlns="urn:xmpp:mix:core:1" id="p1"/>`)
	e.shutdown()
	items, _ := e.items()
	require.Len(t, items, 1)
}

// requireNoRepeatedAttrs checks that no start tag in raw repeats an
// attribute name.
func requireNoRepeatedAttrs(t *testing.T, raw []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := dec.RawToken()
		if err != nil {
			return
		}
		if start, ok := tok.(xml.StartElement); ok {
			seen := make(map[xml.Name]bool)
			for _, a := range start.Attr {
				require.False(t, seen[a.Name], "repeated attribute %s:%s in %s", a.Name.Space, a.Name.Local, raw)
				seen[a.Name] = true
			}
		}
	}
}
