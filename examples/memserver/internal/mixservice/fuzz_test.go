package mixservice

import (
	"bytes"
	"context"
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
)

// FuzzDeliver hands arbitrary bytes to a service with a channel, two
// participants and a client's presence. Deliver must not panic; whatever
// it routes must be one well-formed stanza as RouteRaw takes it, to the JID
// it is routed to; when it refuses the bytes it routes nothing; and an IQ
// request it takes gets exactly one answer, to its sender. The seed corpus
// (testdata/fuzz/FuzzDeliver) holds the examples of XEP-0369, XEP-0403 and
// XEP-0405 and malformed variants.
func FuzzDeliver(f *testing.F) {
	setup := []string{
		createIQ(hag66Res, ` channel='coven'`),
		joinIQ(hag66, allNodes+`<nick>thirdwitch</nick>`),
		joinIQ(hecate, `<subscribe node='urn:xmpp:mix:nodes:messages'/><nick>top witch</nick>`),
		brew,
	}
	prepared := func(t testing.TB) *harness {
		h := newHarness(t, Limits{})
		for _, s := range setup {
			require.NoError(t, h.svc.Deliver(context.Background(), []byte(s)))
		}
		h.rec.Reset()
		return h
	}
	ch := prepared(f).svc.Channels()
	require.Len(f, ch, 1)
	require.Len(f, ch[0].Participants, 2)
	require.Len(f, ch[0].Participants[0].Clients, 1)

	f.Fuzz(func(t *testing.T, raw []byte) {
		h := prepared(t)

		err := h.svc.Deliver(context.Background(), raw)
		var out []stanzaOut
		for _, d := range h.rec.Deliveries() {
			out = append(out, parseOut(t, d))
		}
		if err != nil {
			require.Empty(t, out, "refused input gets no answer")
			return
		}
		if from, id, ok := iqRequest(raw); ok {
			requireOneAnswer(t, out, from, id)
		}
	})
}

// iqRequest reports whether raw starts with an IQ request (not a result or
// an error) that the service must answer, and returns its from and id.
func iqRequest(raw []byte) (from, id string, ok bool) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := d.Token()
		if err != nil {
			return "", "", false
		}
		start, isStart := tok.(xml.StartElement)
		if !isStart {
			continue
		}
		if start.Name.Local != "iq" {
			return "", "", false
		}
		var typ string
		for _, a := range start.Attr {
			if a.Name.Space != "" {
				continue
			}
			switch a.Name.Local {
			case "from":
				from = a.Value
			case "id":
				id = a.Value
			case "type":
				typ = a.Value
			}
		}
		j, err := jid.Parse(from)
		if err != nil || j.Domainpart() == service || typ == "result" || typ == "error" {
			return "", "", false
		}
		return j.String(), id, true
	}
}
