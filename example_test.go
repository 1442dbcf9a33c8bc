package mixpam_test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam"
	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/roster"
)

// wire stands in for the host's sockets: it is the whole Router an
// embedding writes. What mixpam routes is already serialised (RouteRaw):
// the host writes it to the socket once.
type wire chan delivery

type delivery struct {
	to  jid.JID
	raw string
}

func (w wire) RouteRaw(_ context.Context, to jid.JID, raw []byte) error {
	w <- delivery{to, string(raw)}
	return nil
}

func (w wire) Route(ctx context.Context, to jid.JID, r xml.TokenReader) error {
	raw, err := host.AppendStanza(nil, r)
	if err != nil {
		return err
	}
	return w.RouteRaw(ctx, to, raw)
}

// newMixpam is a complete embedding: every handler, wired and dispatched,
// over the host's sessions, stores and router.
func newMixpam(sessions *host.MemSessions, w host.RawRouter) (*mixpam.Dispatcher, error) {
	return mixpam.New(mixpam.HostConfig{
		Sessions: sessions, Router: w,
		Rosters: roster.NewMemStore(), Archive: archive.NewMemStore(), Blocks: blocking.NewMemStore(),
	})
}

// dispatch hands one stanza to d as a host's stream decoder yields it,
// from stamped.
func dispatch(d *mixpam.Dispatcher, s string) error {
	dec := xml.NewDecoder(strings.NewReader(s))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	return d.Dispatch(context.Background(), tok.(xml.StartElement), dec)
}

// show prints a delivery's addressee and its start tag's kind and type.
func show(d delivery) string {
	start, _ := xml.NewDecoder(strings.NewReader(d.raw)).Token()
	el := start.(xml.StartElement)
	s := el.Name.Local
	for _, a := range el.Attr {
		if a.Name.Local == "type" {
			s += " " + a.Value
		}
	}
	return s + " to " + d.to.String()
}

// attr returns the value of the first attribute named name in raw.
func attr(raw, name string) string {
	_, v, _ := strings.Cut(raw, name+`="`)
	v, _, _ = strings.Cut(v, `"`)
	return v
}

// The Dispatcher routes a client's join to the channel, the channel's
// answer back to the client through the Exchange, the channel's messages
// to every MIX-capable client, and disco#info on the account, which lists
// every handler's features.
func Example() {
	sessions := host.NewMemSessions()
	sessions.Add(host.Resource{JID: jid.MustParse("alice@example.org/laptop"), MIXCapable: true})
	w := make(wire, 16)
	d, err := newMixpam(sessions, w)
	if err != nil {
		panic(err)
	}

	// XEP-0405 §2.6: the client joins through its own account.
	err = dispatch(d, `<iq type="set" id="j1" from="alice@example.org/laptop" to="alice@example.org">
<client-join xmlns="urn:xmpp:mix:pam:2" channel="coven@mix.example.org">
<join xmlns="urn:xmpp:mix:core:1"><subscribe node="urn:xmpp:mix:nodes:messages"/></join></client-join></iq>`)
	fmt.Println("client-join:", err)
	req := next(w)
	fmt.Println(show(req))
	err = dispatch(d, `<iq type="result" id="`+attr(req.raw, "id")+`" from="coven@mix.example.org" to="alice@example.org">
<join xmlns="urn:xmpp:mix:core:1" jid="123456#coven@mix.example.org"><subscribe node="urn:xmpp:mix:nodes:messages"/></join></iq>`)
	fmt.Println("channel's answer:", err)
	for answer, i := next(w), 0; i < 5; answer, i = next(w), i+1 {
		fmt.Println(show(answer))
		if attr(answer.raw, "id") == "j1" {
			break
		}
	}

	// XEP-0405 §2.2: the channel's message goes to the MIX-capable client.
	err = dispatch(d, `<message type="groupchat" id="m1" from="coven@mix.example.org/123456" to="alice@example.org">
<body>Harpier cries</body></message>`)
	fmt.Println("groupchat:", err)
	fmt.Println(show(next(w)))

	// disco#info on the account lists the features of every handler.
	err = dispatch(d, `<iq type="get" id="d1" from="alice@example.org/laptop"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)
	fmt.Println("disco#info:", err)
	fmt.Println(show(next(w)))
	fmt.Println(strings.Join(d.Features(), "\n"))

	// What is not mixpam's is the host's.
	err = dispatch(d, `<message type="chat" from="bob@example.org/phone" to="alice@example.org"><body>hi</body></message>`)
	fmt.Println("chat:", errors.Is(err, host.ErrNotHandled))
	// Output:
	// client-join: <nil>
	// iq set to coven@mix.example.org
	// channel's answer: <nil>
	// iq result to alice@example.org/laptop
	// groupchat: <nil>
	// message groupchat to alice@example.org/laptop
	// disco#info: <nil>
	// iq result to alice@example.org/laptop
	// urn:xmpp:mix:pam:2
	// urn:xmpp:mam:2
	// urn:xmpp:mam:2#extended
	// urn:xmpp:mam:2#groupchat-field
	// urn:xmpp:mam:2#groupchat-available
	// urn:xmpp:blocking
	// urn:xmpp:mix:pam:2#archive
	// urn:xmpp:sid:0
	// chat: true
}

func next(w wire) delivery {
	select {
	case d := <-w:
		return d
	case <-time.After(2 * time.Second):
		return delivery{raw: "<none/>"}
	}
}
