package host_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
)

// An Exchange sends a MIX join to a channel (XEP-0405 §2.7) and waits for
// the answer, which the host hands to Receive. Here the channel is in
// process and answers from inside Route.
func ExampleExchange() {
	var ex *host.Exchange
	channel := func(_ context.Context, d host.Delivery) error {
		start, err := xml.NewDecoder(strings.NewReader(string(d.Stanza))).Token()
		if err != nil {
			return err
		}
		req, err := stanza.NewIQ(start.(xml.StartElement))
		if err != nil {
			return err
		}
		answer := stanza.IQ{ID: req.ID, Type: stanza.ResultIQ, From: req.To, To: req.From}
		_, err = ex.Receive(answer, xml.NewDecoder(strings.NewReader(
			`<join xmlns='urn:xmpp:mix:core:1' jid='123456#coven@mix.shakespeare.example'/>`)))
		return err
	}
	ex = host.NewExchange(host.NewRecorder(channel))

	req := stanza.IQ{
		ID:   "E6E10350-76CF-40C6-B91B-1EA08C332FC7",
		Type: stanza.SetIQ,
		From: jid.MustParse("hag66@shakespeare.example"),
		To:   jid.MustParse("coven@mix.shakespeare.example"),
	}
	resp, err := ex.Exchange(context.Background(), req, xml.NewDecoder(strings.NewReader(`<join xmlns='urn:xmpp:mix:core:1'/>`)))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.IQ.Type, resp.IQ.From)
	fmt.Println(string(resp.Payload))
	// Output:
	// result coven@mix.shakespeare.example
	// <join xmlns="urn:xmpp:mix:core:1" jid="123456#coven@mix.shakespeare.example"></join>
}

// A Recorder records what mixpam routes, for tests; Wait synchronises with
// deliveries made by other goroutines.
func ExampleRecorder() {
	rec := host.NewRecorder(nil)
	to := jid.MustParse("hag66@shakespeare.example/UUID-a1j/7533")
	go host.RouteBytes(context.Background(), rec, to, []byte(`<message type="groupchat"><body>Harpier cries</body></message>`))

	deliveries, err := rec.Wait(context.Background(), 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(deliveries[0].To)
	fmt.Println(string(deliveries[0].Stanza))
	// Output:
	// hag66@shakespeare.example/UUID-a1j/7533
	// <message type="groupchat"><body>Harpier cries</body></message>
}
