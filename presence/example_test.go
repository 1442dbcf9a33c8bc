package presence_test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/presence"
	"github.com/mixpam/mixpam/roster"
)

// decode splits a serialised presence into its header and its children, as
// a host has them after reading the start element.
func decode(raw string) (stanza.Presence, xml.TokenReader) {
	d := xml.NewDecoder(strings.NewReader(raw))
	tok, err := d.Token()
	if err != nil {
		panic(err)
	}
	p, err := stanza.NewPresence(tok.(xml.StartElement))
	if err != nil {
		panic(err)
	}
	return p, xmlstream.Inner(d)
}

// show prints what the router was given, one line per stanza.
func show(r *hosttest.Recorder) {
	for _, d := range r.Deliveries() {
		var p struct {
			From string `xml:"from,attr"`
			Type string `xml:"type,attr"`
			Show string `xml:"show"`
		}
		if err := xml.Unmarshal(d.Stanza, &p); err != nil {
			panic(err)
		}
		fmt.Println(strings.TrimSpace(fmt.Sprintf("to %s: from %s %s%s", d.To, p.From, p.Type, p.Show)))
	}
	r.Reset()
}

// A user who joined coven@mix.shakespeare.example, sharing presence, has a
// MIX-capable client and an older one online.
func setUp() (*presence.Handler, *host.MemSessions, *hosttest.Recorder) {
	ctx := context.Background()
	rosters := roster.NewMemStore()
	_, err := rosters.Put(ctx, jid.MustParse("hag66@shakespeare.example"), roster.Item{
		JID:          jid.MustParse("coven@mix.shakespeare.example"),
		Subscription: roster.From, // presence shared with the channel
		Channel:      true,
	})
	if err != nil {
		panic(err)
	}
	sessions := host.NewMemSessions()
	sessions.Add(host.Resource{JID: jid.MustParse("hag66@shakespeare.example/UUID-a1j/7533"), MIXCapable: true})
	sessions.Add(host.Resource{JID: jid.MustParse("hag66@shakespeare.example/old"), MIXCapable: false})
	router := hosttest.NewRecorder(nil)
	h, err := presence.New(presence.Config{Sessions: sessions, Router: router, Rosters: rosters})
	if err != nil {
		panic(err)
	}
	return h, sessions, router
}

func Example() {
	ctx := context.Background()
	h, _, router := setUp()

	// Both clients send initial presence (XEP-0405 §2.9.1, Listing 12). Only
	// the MIX-capable one reaches the channel; as the cache holds nothing
	// from the channel yet, the server asks it for its presence with
	// directed presence from the bare JID (§2.9.3).
	for _, client := range []string{"hag66@shakespeare.example/UUID-a1j/7533", "hag66@shakespeare.example/old"} {
		p, payload := decode(`<presence xmlns='jabber:client'><show>dnd</show><status>Making a Brew</status></presence>`)
		p.From = jid.MustParse(client)
		if err := h.Outbound(ctx, p, payload); err != nil {
			panic(err)
		}
	}
	show(router)

	// The channel sends a participant's presence to the bare JID (§2.9.2,
	// Listing 14): it goes to the MIX-capable client only (Listing 15).
	p, payload := decode(`<presence xmlns='jabber:client' from='123435#coven@mix.shakespeare.example/UUID-a1j/7533' to='hag66@shakespeare.example' id='77E07BB0'>` +
		`<mix xmlns='urn:xmpp:mix:presence:0'><jid>hecate@shakespeare.example/UUID-x4r/2491</jid><nick>thirdwitch</nick></mix>` +
		`<show>chat</show></presence>`)
	err := h.Inbound(ctx, p, payload)
	fmt.Println("handled:", err == nil, err)
	show(router)

	// The client disconnects without unavailable presence (§2.9.4).
	if err := h.Disconnected(ctx, jid.MustParse("hag66@shakespeare.example/UUID-a1j/7533")); err != nil {
		panic(err)
	}
	show(router)
	fmt.Printf("%+v\n", h.Stats())

	// Output:
	// to coven@mix.shakespeare.example: from hag66@shakespeare.example/UUID-a1j/7533 dnd
	// to coven@mix.shakespeare.example: from hag66@shakespeare.example
	// handled: true <nil>
	// to hag66@shakespeare.example/UUID-a1j/7533: from 123435#coven@mix.shakespeare.example/UUID-a1j/7533 chat
	// to coven@mix.shakespeare.example: from hag66@shakespeare.example/UUID-a1j/7533 unavailable
	// {Entries:1 Evicted:0 Discarded:0 Spoofed:0 Blocked:0 Refreshes:1 Missed:0}
}

// Inbound answers a channel's probe with the presence of MIX-capable
// clients only, and drops presence that claims to come from a channel the
// user has not joined.
func ExampleHandler_Inbound() {
	ctx := context.Background()
	h, _, router := setUp()
	for _, r := range []string{"hag66@shakespeare.example/UUID-a1j/7533", "hag66@shakespeare.example/old"} {
		p, payload := decode(`<presence><show>away</show></presence>`)
		p.From = jid.MustParse(r)
		if err := h.Outbound(ctx, p, payload); err != nil {
			panic(err)
		}
	}
	router.Reset()

	for _, raw := range []string{
		// XEP-0403 §5: the channel's server probes its participants.
		`<presence type='probe' from='coven@mix.shakespeare.example' to='hag66@shakespeare.example'/>`,
		// Not a joined channel: dropped, counted.
		`<presence from='1#witches@mix.example/x' to='hag66@shakespeare.example'/>`,
		// An ordinary contact: left to the host.
		`<presence from='romeo@montague.example/orchard' to='hag66@shakespeare.example'/>`,
	} {
		p, payload := decode(raw)
		err := h.Inbound(ctx, p, payload)
		fmt.Println(p.From, "not mine:", errors.Is(err, host.ErrNotHandled))
		show(router)
	}
	fmt.Println("spoofed:", h.Stats().Spoofed)

	// Output:
	// coven@mix.shakespeare.example not mine: false
	// to coven@mix.shakespeare.example: from hag66@shakespeare.example/UUID-a1j/7533 away
	// 1#witches@mix.example/x not mine: false
	// romeo@montague.example/orchard not mine: true
	// spoofed: 1
}

// Joined runs once a join is confirmed and in the roster (pam.JoinHandler
// calls it through pam.JoinConfig.Presence): the client already online
// sends its presence to the channel, and the channel is asked for its
// presence again (XEP-0405 §2.9, §2.9.3). Left, after the leave, forgets the
// channel's presence and tells the client.
func ExampleHandler_Joined() {
	ctx := context.Background()
	user, channel := jid.MustParse("hag66@shakespeare.example"), jid.MustParse("coven@mix.shakespeare.example")
	client := jid.MustParse("hag66@shakespeare.example/UUID-a1j/7533")
	rosters := roster.NewMemStore()
	sessions := host.NewMemSessions()
	sessions.Add(host.Resource{JID: client, MIXCapable: true})
	router := hosttest.NewRecorder(nil)
	h, err := presence.New(presence.Config{Sessions: sessions, Router: router, Rosters: rosters})
	if err != nil {
		panic(err)
	}

	// The client is online before the join: no channel gets its presence.
	p, payload := decode(`<presence><show>dnd</show></presence>`)
	p.From = client
	if err := h.Outbound(ctx, p, payload); err != nil {
		panic(err)
	}
	show(router)

	// The channel confirmed the join and the roster holds it.
	if _, err := rosters.Put(ctx, user, roster.ChannelItem(channel, "123456", "", true)); err != nil {
		panic(err)
	}
	if err := h.Joined(ctx, user, channel); err != nil {
		panic(err)
	}
	show(router)

	// The channel answers the refresh; then the user leaves.
	p, payload = decode(`<presence from='123435#coven@mix.shakespeare.example/UUID-x4r/2491' to='hag66@shakespeare.example'><show>chat</show></presence>`)
	if err := h.Inbound(ctx, p, payload); err != nil {
		panic(err)
	}
	if _, err := rosters.Delete(ctx, user, channel); err != nil {
		panic(err)
	}
	if err := h.Left(ctx, user, channel); err != nil {
		panic(err)
	}
	show(router)

	// Output:
	// to coven@mix.shakespeare.example: from hag66@shakespeare.example/UUID-a1j/7533 dnd
	// to coven@mix.shakespeare.example: from hag66@shakespeare.example
	// to hag66@shakespeare.example/UUID-a1j/7533: from 123435#coven@mix.shakespeare.example/UUID-x4r/2491 chat
	// to hag66@shakespeare.example/UUID-a1j/7533: from 123435#coven@mix.shakespeare.example/UUID-x4r/2491 unavailable
}

// Before routing a session's directed presence, the host asks Directed:
// a client that is not MIX capable does not reach the user's channels
// (XEP-0405 §2.9), anyone else does.
func ExampleHandler_Directed() {
	ctx := context.Background()
	h, _, _ := setUp()
	for _, client := range []string{"hag66@shakespeare.example/UUID-a1j/7533", "hag66@shakespeare.example/old"} {
		for _, to := range []string{"coven@mix.shakespeare.example", "romeo@montague.example"} {
			ok, err := h.Directed(ctx, jid.MustParse(client), jid.MustParse(to))
			if err != nil {
				fmt.Println(err)
				return
			}
			fmt.Printf("%s → %s: %v\n", client, to, ok)
		}
	}
	// Output:
	// hag66@shakespeare.example/UUID-a1j/7533 → coven@mix.shakespeare.example: true
	// hag66@shakespeare.example/UUID-a1j/7533 → romeo@montague.example: true
	// hag66@shakespeare.example/old → coven@mix.shakespeare.example: false
	// hag66@shakespeare.example/old → romeo@montague.example: true
}
