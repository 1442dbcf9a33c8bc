package mixpam_test

import (
	"fmt"
	"strings"

	"github.com/mixpam/mixpam"
	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/pam"
	"github.com/mixpam/mixpam/roster"
)

// A host that wants other options than New's defaults builds the handlers
// itself and registers them with the Dispatcher: here only client-join and
// the roster, with a page size of its own for a MAM handler. The
// Dispatcher collects the features of what it was given.
func ExampleNewDispatcher() {
	sessions, w := host.NewMemSessions(), make(wire, 16)
	exchange := host.NewExchange(w)
	rosterH, err := roster.NewHandler(roster.HandlerConfig{Store: roster.NewMemStore(), Sessions: sessions, Router: w})
	if err != nil {
		panic(err)
	}
	join, err := pam.NewJoinHandler(pam.JoinConfig{Exchanger: exchange, Roster: rosterH})
	if err != nil {
		panic(err)
	}
	mam, err := archive.NewMAMHandler(archive.MAMConfig{Store: archive.NewMemStore(), PageSize: 20})
	if err != nil {
		panic(err)
	}
	d, err := mixpam.NewDispatcher(mixpam.Config{
		Router: w, Exchange: exchange,
		IQ: []mixpam.IQ{
			{Handler: join, Routes: pam.IQRoutes()},
			{Handler: rosterH, Routes: roster.IQRoutes()},
			{Handler: mam, Routes: archive.IQRoutes()},
		},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.Join(d.Features(), "\n"))
	// Output:
	// urn:xmpp:mix:pam:2
	// urn:xmpp:mam:2
	// urn:xmpp:mam:2#extended
	// urn:xmpp:mam:2#groupchat-field
	// urn:xmpp:mam:2#groupchat-available
}
