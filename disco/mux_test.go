package disco_test

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/disco"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/ns"
)

// serve hands one stanza to m as a mellium session would and returns what m
// wrote back and the handler's error.
func serve(t *testing.T, m *mux.ServeMux, stanzaXML string) (string, error) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(stanzaXML))
	tok, err := d.Token()
	require.NoError(t, err)
	start := tok.(xml.StartElement)
	out := &tokenRecorder{}
	rw := struct {
		xml.TokenReader
		xmlstream.Encoder
	}{TokenReader: xmlstream.Inner(d), Encoder: out}
	err = m.HandleXMPP(rw, &start)
	return render(t, out.reader()), err
}

func TestHandle(t *testing.T) {
	next := mux.IQHandlerFunc(func(iq stanza.IQ, t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		// Stands in for the server's own disco: answers with an empty query
		// naming the payload it was given, to show that it got it unread.
		_, err := xmlstream.Copy(t, iq.Result(xmlstream.Wrap(nil, xml.StartElement{
			Name: start.Name,
			Attr: []xml.Attr{{Name: xml.Name{Local: "node"}, Value: "server"}},
		})))
		return err
	})
	const (
		balcony = "juliet@capulet.lit/balcony"
		get     = `<iq xmlns='jabber:client' type='get' id='q1' `
	)
	for _, tc := range []struct {
		name    string
		session string // "" for a server-to-server stream
		next    mux.IQHandler
		stanza  string
		want    string
	}{{
		name:    "bare JID",
		session: balcony,
		next:    next,
		stanza:  get + `to='juliet@capulet.lit'>` + query + `</iq>`,
		want:    `<iq type="result" to="juliet@capulet.lit/balcony" from="juliet@capulet.lit" id="q1">` + ownerResult + `</iq>`,
	}, {
		name:    "no to, no from (XEP-0405 Listing 3 as clients send it)",
		session: balcony,
		next:    next,
		stanza:  get + `>` + query + `</iq>`,
		want:    `<iq type="result" to="juliet@capulet.lit/balcony" from="juliet@capulet.lit" id="q1">` + ownerResult + `</iq>`,
	}, {
		name:    "a from the client wrote is replaced by the session's",
		session: balcony,
		next:    next,
		stanza:  get + `from='romeo@montague.lit/orchard' to='romeo@montague.lit'>` + query + `</iq>`,
		want: `<iq type="error" to="juliet@capulet.lit/balcony" from="romeo@montague.lit" id="q1">` + emptyQuery +
			errorXML("cancel", "service-unavailable", "service discovery of this account is not available") + `</iq>`,
	}, {
		name:   "server-to-server stream keeps the from",
		next:   next,
		stanza: get + `from='romeo@montague.lit/orchard' to='juliet@capulet.lit'>` + query + `</iq>`,
		want:   `<iq type="result" to="romeo@montague.lit/orchard" from="juliet@capulet.lit" id="q1">` + publicResult + `</iq>`,
	}, {
		name:    "domain goes to next",
		session: balcony,
		next:    next,
		stanza:  get + `to='capulet.lit'>` + query + `</iq>`,
		want:    `<iq type="result" to="juliet@capulet.lit/balcony" from="capulet.lit" id="q1"><query xmlns="http://jabber.org/protocol/disco#info" node="server"></query></iq>`,
	}, {
		name:    "full JID without next",
		session: balcony,
		stanza:  get + `to='romeo@montague.lit/orchard'>` + query + `</iq>`,
		want: `<iq type="error" to="juliet@capulet.lit/balcony" from="romeo@montague.lit/orchard" id="q1">` +
			errorXML("cancel", "service-unavailable", "no service discovery for this address here") + `</iq>`,
	}, {
		name:    "set",
		session: balcony,
		next:    next,
		stanza:  `<iq xmlns='jabber:client' type='set' id='q1'>` + query + `</iq>`,
		want: `<iq type="error" to="juliet@capulet.lit/balcony" from="juliet@capulet.lit" id="q1">` + emptyQuery +
			errorXML("cancel", "feature-not-implemented", "disco#info requests are of type get") + `</iq>`,
	}, {
		name:    "two payloads",
		session: balcony,
		next:    next,
		stanza:  get + `>` + query + `<ping xmlns='urn:xmpp:ping'/></iq>`,
		want: `<iq type="error" to="juliet@capulet.lit/balcony" from="juliet@capulet.lit" id="q1">` +
			errorXML("modify", "bad-request", "an IQ request carries exactly one payload element") + `</iq>`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var session jid.JID
			if tc.session != "" {
				session = jid.MustParse(tc.session)
			}
			m := mux.New(ns.Client, disco.Handle(t.Context(), testAccount(t), session, tc.next))
			got, err := serve(t, m, tc.stanza)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestHandleNoSender checks that a request without from on a
// server-to-server stream ends the stream (RFC 6120 §4.9.3.14) unanswered.
func TestHandleNoSender(t *testing.T) {
	m := mux.New(ns.Client, disco.Handle(t.Context(), testAccount(t), jid.JID{}, nil))
	got, err := serve(t, m, `<iq xmlns='jabber:client' type='get' id='q1' to='juliet@capulet.lit'>`+query+`</iq>`)
	require.ErrorIs(t, err, host.ErrNoSender)
	require.Empty(t, got)
}
