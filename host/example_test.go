package host_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
)

// An Exchange sends a MIX join to a channel (XEP-0405 §2.7) and waits for
// the answer, which the host hands to Receive. Here the channel is in
// process and answers from inside Route.
func ExampleExchange() {
	var ex *host.Exchange
	channel := func(_ context.Context, d hosttest.Delivery) error {
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
	ex = host.NewExchange(hosttest.NewRecorder(channel))

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
