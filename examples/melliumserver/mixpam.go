package main

import (
	"log/slog"

	"github.com/mixpam/mixpam"
	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/disco"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/pam"
	"github.com/mixpam/mixpam/presence"
	"github.com/mixpam/mixpam/roster"
)

// newMixpam builds every mixpam handler over in-memory stores and the
// Dispatcher that routes stanzas to them: all of the server's mixpam
// wiring. sessions are the server's client sessions; router delivers what
// the handlers send. The server hands the Dispatcher stanzas in
// server.go (deliver, presence) and session ends (serveClient).
func newMixpam(sessions *host.MemSessions, router host.Router, log *slog.Logger) (*mixpam.Dispatcher, error) {
	exchange := host.NewExchange(router)
	rosters, archives, blocks := roster.NewMemStore(), archive.NewMemStore(), blocking.NewMemStore()
	filter, err := blocking.NewFilter(blocking.FilterConfig{Checker: blocking.StoreChecker(blocks)})
	if err != nil {
		return nil, err
	}
	rosterH, err := roster.NewHandler(roster.HandlerConfig{Store: rosters, Sessions: sessions, Router: router, Logger: log})
	if err != nil {
		return nil, err
	}
	pres, err := presence.New(presence.Config{Sessions: sessions, Router: router, Rosters: rosters, Block: filter, Logger: log})
	if err != nil {
		return nil, err
	}
	join, err := pam.NewJoinHandler(pam.JoinConfig{Exchanger: exchange, Roster: rosterH, Presence: pres, Logger: log})
	if err != nil {
		return nil, err
	}
	fanOut, err := pam.NewFanOut(pam.FanOutConfig{Sessions: sessions, Router: router, Roster: rosters, Archive: archives, Block: filter, Logger: log})
	if err != nil {
		return nil, err
	}
	mam, err := archive.NewMAMHandler(archive.MAMConfig{Store: archives, Logger: log})
	if err != nil {
		return nil, err
	}
	blockH, err := blocking.NewHandler(blocking.HandlerConfig{Store: blocks, Sessions: sessions, Router: router, Presence: pres, Logger: log})
	if err != nil {
		return nil, err
	}
	resolver, err := disco.NewResolver(disco.ResolverConfig{Exchanger: exchange, Logger: log})
	if err != nil {
		return nil, err
	}
	return mixpam.NewDispatcher(mixpam.Config{
		Router: router, Exchange: exchange, FanOut: fanOut, Presence: pres, Resolver: resolver, Flags: sessions, Logger: log,
		Account: disco.AccountConfig{Logger: log},
		IQ: []mixpam.IQ{
			{Handler: join, Routes: pam.IQRoutes()},        // client-join, client-leave (XEP-0405 §2.6–2.8)
			{Handler: rosterH, Routes: roster.IQRoutes()},  // roster, channel items, annotation (§2.9, §2.10)
			{Handler: mam, Routes: archive.IQRoutes()},     // the user's archive (§2.11, XEP-0313)
			{Handler: blockH, Routes: blocking.IQRoutes()}, // MIX-aware blocking (§2.12, XEP-0191)
		},
	})
}
