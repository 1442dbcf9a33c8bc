package examples_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/disco"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/pam"
	"github.com/mixpam/mixpam/presence"
	"github.com/mixpam/mixpam/roster"
)

// Example_wiring builds every mixpam handler over the in-memory seams, as
// the README shows, and hands one groupchat message to the fan-out.
func Example_wiring() {
	ctx := context.Background()
	sessions := host.NewMemSessions()
	router := hosttest.NewRecorder(nil) // a host's own router in real life
	exchange := host.NewExchange(router)
	rosters, archives, blocks := roster.NewMemStore(), archive.NewMemStore(), blocking.NewMemStore()

	filter := blocking.NewFilter(blocking.StoreChecker(blocks))
	rosterH := roster.NewHandler(rosters, sessions, router)
	pres := presence.New(sessions, router, rosters, presence.Blocking(filter))
	join, err := pam.NewJoinHandler(pam.JoinConfig{
		Exchanger: exchange, Roster: rosterH, Router: router, Presence: pres,
	})
	check(err)
	fanOut, err := pam.NewFanOut(pam.FanOutConfig{
		Sessions: sessions, Router: router, Roster: rosters, Archive: archives, Block: filter,
	})
	check(err)
	_, err = archive.NewMAMHandler(archive.MAMConfig{Store: archives, Router: router})
	check(err)
	_ = blocking.NewHandler(blocks, sessions, router, blocking.WithPresence(blocking.PresenceUpdaters{pres}))
	_, err = disco.NewAccount(disco.AccountConfig{Router: router, Features: disco.Features{Archive: true}})
	check(err)
	_ = join

	// hecate joined coven earlier; one MIX-capable client is online.
	hecate := jid.MustParse("hecate@shakespeare.example")
	coven := jid.MustParse("coven@mix.shakespeare.example")
	check(rosterH.AddChannel(ctx, hecate, roster.ChannelItem(coven, "123456", "", true)))
	client := jid.MustParse("hecate@shakespeare.example/broom")
	sessions.Add(host.Resource{JID: client, MIXCapable: true, Available: true})
	router.Reset()

	d := xml.NewDecoder(strings.NewReader(`<message type="groupchat" ` +
		`from="coven@mix.shakespeare.example/789012" to="hecate@shakespeare.example">` +
		`<body>Harpier cries</body></message>`))
	tok, _ := d.Token()
	res, err := fanOut.ServeMessage(ctx, tok.(xml.StartElement), d)
	check(err)
	page, err := archives.Query(ctx, hecate, archive.Query{Max: 10})
	check(err)
	fmt.Println(res.Action, "delivered:", res.Delivered, "archived:", page.Count)
	fmt.Println("to:", router.Deliveries()[0].To)
	// Output:
	// accepted delivered: 1 archived: 1
	// to: hecate@shakespeare.example/broom
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}
