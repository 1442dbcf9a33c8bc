package mixservice_test

import (
	"context"
	"encoding/xml"
	"fmt"

	"github.com/mixpam/mixpam/examples/memserver/internal/mixservice"
	"github.com/mixpam/mixpam/host/hosttest"
)

// A channel is created, joined by alice's server on her behalf (XEP-0405
// §2.7) and sent a message, which comes back to her bare JID from her
// participant JID in the channel. Here the Router is a hosttest.Recorder; in
// the example server it is the server's router.
func Example() {
	rec := hosttest.NewRecorder(nil)
	svc := mixservice.New(mixservice.Config{Domain: "mix.example.org", Router: rec, Secret: []byte("example")})
	defer svc.Close()

	for _, raw := range []string{
		`<iq type='set' id='c1' from='alice@example.org/phone' to='mix.example.org'>` +
			`<create xmlns='urn:xmpp:mix:core:1' channel='coven'/></iq>`,
		`<iq type='set' id='j1' from='alice@example.org' to='coven@mix.example.org'>` +
			`<join xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>alice</nick></join></iq>`,
		`<message type='groupchat' id='m1' from='alice@example.org/phone' to='coven@mix.example.org'>` +
			`<body>Hello</body></message>`,
	} {
		if err := svc.Deliver(context.Background(), []byte(raw)); err != nil {
			fmt.Println(err)
		}
	}

	for _, d := range rec.Deliveries() {
		var s struct {
			XMLName xml.Name
			From    string `xml:"from,attr"`
			Type    string `xml:"type,attr"`
			Body    string `xml:"body"`
		}
		if err := xml.Unmarshal(d.Stanza, &s); err != nil {
			fmt.Println(err)
		}
		fmt.Printf("%s %s from %s to %s: %q\n", s.Type, s.XMLName.Local, s.From, d.To, s.Body)
	}
	fmt.Println(svc.Channels()[0].Participants[0].Nick)
	// Output:
	// result iq from mix.example.org to alice@example.org/phone: ""
	// result iq from coven@mix.example.org to alice@example.org: ""
	// groupchat message from coven@mix.example.org/81d3b56d02377e2fdd07 to alice@example.org: "Hello"
	// alice
}
