package pam_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/pam"
	"github.com/mixpam/mixpam/roster"
)

// A channel's message to the user's bare JID (XEP-0405 Listing 1) is
// archived once and delivered to each MIX-capable client, addressed to its
// full JID (Listing 2).
func ExampleFanOut_ServeMessage() {
	ctx := context.Background()
	user := jid.MustParse("hecate@shakespeare.example")
	channel := jid.MustParse("coven@mix.shakespeare.example")

	// The user has joined the channel and has two clients online, one of
	// them MIX-capable.
	rst := roster.NewMemStore()
	if _, err := rst.Put(ctx, user, roster.Item{JID: channel, Subscription: roster.From, Channel: true}); err != nil {
		panic(err)
	}
	sessions := host.NewMemSessions()
	sessions.Add(host.Resource{JID: jid.MustParse("hecate@shakespeare.example/UUID-x4r/2491"), MIXCapable: true})
	sessions.Add(host.Resource{JID: jid.MustParse("hecate@shakespeare.example/legacy")})
	store := archive.NewMemStore()
	router := hosttest.NewRecorder(nil)
	fanOut, err := pam.NewFanOut(pam.FanOutConfig{Sessions: sessions, Router: router, Roster: rst, Archive: store})
	if err != nil {
		panic(err)
	}

	// The host hands over the stanza as its decoder yields it.
	d := xml.NewDecoder(strings.NewReader(`<message xmlns="jabber:server"
  from="coven@mix.shakespeare.example/123456" to="hecate@shakespeare.example"
  id="77E07BB0-55CF-4BD4-890E-3F7C0E686BB0" type="groupchat">
  <body>Harpier cries: 'tis time, 'tis time.</body>
  <mix xmlns="urn:xmpp:mix:core:1"><nick>thirdwitch</nick><jid>hag66@shakespeare.example</jid></mix>
</message>`))
	tok, _ := d.Token()
	res, err := fanOut.ServeMessage(ctx, tok.(xml.StartElement), d)
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Action, "and delivered to", res.Delivered, "client")
	for _, del := range router.Deliveries() {
		fmt.Println("to", del.To)
	}
	page, _ := store.Query(ctx, user, archive.Query{Max: 10})
	fmt.Println("archived with", page.Records[0].With, "under the stanza id:", page.Records[0].ID == res.ID)
	// Output:
	// accepted and delivered to 1 client
	// to hecate@shakespeare.example/UUID-x4r/2491
	// archived with coven@mix.shakespeare.example under the stanza id: true
}

// A host that holds the channel's message as bytes, such as one whose MIX
// service runs in the same process and routes through a host.RawRouter,
// hands over the bytes: a message in the plain form servers write is
// checked and passed on without being decoded.
func ExampleFanOut_ServeRaw() {
	ctx := context.Background()
	user := jid.MustParse("hecate@shakespeare.example")
	channel := jid.MustParse("coven@mix.shakespeare.example")
	rst := roster.NewMemStore()
	if _, err := rst.Put(ctx, user, roster.Item{JID: channel, Subscription: roster.From, Channel: true}); err != nil {
		panic(err)
	}
	sessions := host.NewMemSessions()
	sessions.Add(host.Resource{JID: jid.MustParse("hecate@shakespeare.example/UUID-x4r/2491"), MIXCapable: true})
	router := hosttest.NewRecorder(nil)
	fanOut, err := pam.NewFanOut(pam.FanOutConfig{Sessions: sessions, Router: router, Roster: rst, Archive: archive.NewMemStore()})
	if err != nil {
		panic(err)
	}

	raw := []byte(`<message from="coven@mix.shakespeare.example/123456" to="hecate@shakespeare.example" ` +
		`id="77E07BB0" type="groupchat"><body>Harpier cries: 'tis time.</body>` +
		`<stanza-id xmlns="urn:xmpp:sid:0" by="hecate@shakespeare.example" id="forged"/></message>`)
	res, err := fanOut.ServeRaw(ctx, raw)
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Action, "and delivered to", res.Delivered, "client")
	out := string(router.Deliveries()[0].Stanza)
	fmt.Println(strings.Replace(out, res.ID, "ID", 1))
	// Output:
	// accepted and delivered to 1 client
	// <message to="hecate@shakespeare.example/UUID-x4r/2491" from="coven@mix.shakespeare.example/123456" id="77E07BB0" type="groupchat"><body>Harpier cries: 'tis time.</body><stanza-id xmlns="urn:xmpp:sid:0" by="hecate@shakespeare.example" id="ID"/></message>
}
