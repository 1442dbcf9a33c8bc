package blocking_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"strings"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
	"github.com/mixpam/mixpam/roster"
)

// A fan-out or presence handler asks the Filter before delivering channel
// traffic to a user.
func ExampleFilter_Blocked() {
	ctx := context.Background()
	user := jid.MustParse("hecate@shakespeare.example")
	store := blocking.NewMemStore()
	// Hecate blocks one participant of the coven, and the whole of another
	// channel.
	_, _ = store.Block(ctx, user,
		jid.MustParse("123456#coven@mix.shakespeare.example"),
		jid.MustParse("spam@mix.shakespeare.example"))
	filter, err := blocking.NewFilter(blocking.FilterConfig{Checker: blocking.StoreChecker(store)})
	if err != nil {
		fmt.Println(err)
		return
	}

	for _, p := range []blocking.Peer{
		{JID: jid.MustParse("coven@mix.shakespeare.example/123456"), Groupchat: true},
		{JID: jid.MustParse("coven@mix.shakespeare.example/789012"), Groupchat: true},
		{JID: jid.MustParse("123456#coven@mix.shakespeare.example/UUID-a1j")},
		{JID: jid.MustParse("42#spam@mix.shakespeare.example/x")},
	} {
		blocked, err := filter.Blocked(ctx, user, p)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(p.JID, blocked)
	}
	// Output:
	// coven@mix.shakespeare.example/123456 true
	// coven@mix.shakespeare.example/789012 false
	// 123456#coven@mix.shakespeare.example/UUID-a1j true
	// 42#spam@mix.shakespeare.example/x true
}

// A host with its own XEP-0191 check wraps it: the Filter adds the MIX
// rules around it.
func ExampleNewFilter() {
	ctx := context.Background()
	hostCheck := func(_ context.Context, user, peer jid.JID) (bool, error) {
		// The host's own matching; here, Hecate blocks one channel.
		return peer.Bare().String() == "coven@mix.shakespeare.example", nil
	}
	filter, err := blocking.NewFilter(blocking.FilterConfig{Checker: blocking.CheckerFunc(hostCheck), MatchRealJID: true})
	if err != nil {
		fmt.Println(err)
		return
	}

	user := jid.MustParse("hecate@shakespeare.example")
	participant := jid.MustParse("123456#coven@mix.shakespeare.example/UUID-a1j")
	plain, _ := hostCheck(ctx, user, participant)
	mixAware, _ := filter.Blocked(ctx, user, blocking.Peer{JID: participant})
	fmt.Println("host check alone:", plain)
	fmt.Println("filter:", mixAware)
	fmt.Println("extract <mix><jid>:", filter.NeedsRealJID())
	// Output:
	// host check alone: false
	// filter: true
	// extract <mix><jid>: true
}

// A host's "only contacts may message me" policy lets channel traffic
// through when the channel is in the roster.
func ExampleKnown() {
	ctx := context.Background()
	user := jid.MustParse("hecate@shakespeare.example")
	rs := roster.NewMemStore()
	_, _ = rs.Put(ctx, user, roster.Item{
		JID:          jid.MustParse("coven@mix.shakespeare.example"),
		Subscription: roster.From,
		Channel:      true,
	})
	for _, peer := range []string{
		"123456#coven@mix.shakespeare.example/UUID-a1j",
		"coven@mix.shakespeare.example/123456",
		"123456#other@mix.shakespeare.example/UUID-a1j",
	} {
		known, err := blocking.Known(ctx, rs, user, jid.MustParse(peer))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(peer, known)
	}
	// Output:
	// 123456#coven@mix.shakespeare.example/UUID-a1j true
	// coven@mix.shakespeare.example/123456 true
	// 123456#other@mix.shakespeare.example/UUID-a1j false
}

// The Handler pushes a client's block command to the user's resources that
// requested the blocklist (here both have, as if each had sent a blocklist
// get) and answers it, all through the host's router.
func ExampleHandler_ServeIQ() {
	ctx := context.Background()
	sessions := host.NewMemSessions()
	sessions.Add(host.Resource{JID: jid.MustParse("juliet@capulet.com/chamber"), BlocklistRequested: true})
	sessions.Add(host.Resource{JID: jid.MustParse("juliet@capulet.com/balcony"), BlocklistRequested: true})
	router := hosttest.NewRecorder(nil)
	h, err := blocking.NewHandler(blocking.HandlerConfig{Store: blocking.NewMemStore(), Sessions: sessions, Router: router})
	if err != nil {
		fmt.Println(err)
		return
	}

	// The host decodes the IQ and stamps its from.
	d := xml.NewDecoder(strings.NewReader(`<iq type='set' id='block1'>
  <block xmlns='urn:xmpp:blocking'>
    <item jid='romeo@montague.net'/>
  </block>
</iq>`))
	tok, _ := d.Token()
	iq, _ := stanza.NewIQ(tok.(xml.StartElement))
	iq.From = jid.MustParse("juliet@capulet.com/chamber")

	if err := h.ServeIQ(ctx, iq, xmlstream.Inner(d), host.RouteReplies(router)); err != nil {
		fmt.Println(err)
		return
	}
	for _, routed := range router.Deliveries() {
		if bytes.HasPrefix(routed.Stanza, []byte(`<iq type="set"`)) {
			fmt.Println("push to", routed.To) // with a random id
			continue
		}
		fmt.Printf("answer: %s\n", routed.Stanza)
	}
	// Output:
	// push to juliet@capulet.com/chamber
	// push to juliet@capulet.com/balcony
	// answer: <iq type="result" to="juliet@capulet.com/chamber" from="juliet@capulet.com" id="block1"></iq>
}

// Outbound stanzas to a blocked JID are answered with the XEP-0191 error
// instead of being routed.
func ExampleBlockedError() {
	msg := stanza.Message{
		ID:   "m1",
		From: jid.MustParse("juliet@capulet.com/balcony"),
		To:   jid.MustParse("romeo@montague.net"),
		Type: stanza.ChatMessage,
	}
	reply, _ := xmlenc.Marshal(blocking.BlockedError(msg.StartElement(), nil), ns.Client)
	fmt.Printf("%s\n", reply)
	// Output:
	// <message type="error" from="romeo@montague.net" to="juliet@capulet.com/balcony" id="m1"><error type="cancel"><not-acceptable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"></not-acceptable><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">you have blocked this recipient; unblock it to communicate</text><blocked xmlns="urn:xmpp:blocking:errors"></blocked></error></message>
}

// A host built on mellium's mux registers the Handler on each session's
// mux, with the JID the session bound.
func ExampleHandle() {
	sessions := host.NewMemSessions()
	router := hosttest.NewRecorder(nil) // the host's router, with a send queue
	h, err := blocking.NewHandler(blocking.HandlerConfig{Store: blocking.NewMemStore(), Sessions: sessions, Router: router})
	if err != nil {
		fmt.Println(err)
		return
	}

	ctx := context.Background() // the session's context
	bound := jid.MustParse("juliet@capulet.com/balcony")
	m := mux.New(stanza.NSClient, blocking.Handle(ctx, h, bound))
	_ = m // serve the session with m
}
