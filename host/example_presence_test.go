package host_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/ns"
)

// MuxPresence puts a PresenceHandler (the mixpam Dispatcher, in a server)
// on the mux of a client's session: the presence is served once, although
// it has three children, and as from the session, whatever the client
// wrote.
func ExampleMuxPresence() {
	session := jid.MustParse("juliet@capulet.lit/balcony")
	h := host.PresenceHandlerFunc(func(_ context.Context, p stanza.Presence, payload xml.TokenReader) error {
		children, err := host.AppendStanza(nil, payload)
		fmt.Printf("from %s: %s\n", p.From, children)
		return err
	})
	m := mux.New(ns.Client, host.MuxPresence(context.Background(), h, session))

	// What a session's read loop hands the mux (Session.Serve does the same).
	d := xml.NewDecoder(strings.NewReader(`<presence xmlns="jabber:client" from="romeo@montague.lit/orchard">` +
		`<show>away</show><status>On the balcony</status><priority>1</priority></presence>`))
	tok, _ := d.Token()
	start := tok.(xml.StartElement)
	err := m.HandleXMPP(struct {
		xml.TokenReader
		xmlstream.Encoder
	}{d, xml.NewEncoder(nil)}, &start)
	fmt.Println("err:", err)
	// Output:
	// from juliet@capulet.lit/balcony: <show>away</show><status>On the balcony</status><priority>1</priority>
	// err: <nil>
}
