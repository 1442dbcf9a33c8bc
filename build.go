package mixpam

import (
	"errors"
	"log/slog"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/disco"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/pam"
	"github.com/mixpam/mixpam/presence"
	"github.com/mixpam/mixpam/roster"
)

// Sessions is what New needs of the host's session registry: the online
// resources, and the per-session flags mixpam's handlers learn.
// host.MemSessions implements it.
type Sessions interface {
	host.Sessions
	host.FlagSetter
}

// HostConfig is what New builds mixpam from: the host's session registry,
// router and stores. Sessions, Router, Rosters, Archive and Blocks are
// required.
type HostConfig struct {
	// Sessions is the host's session registry.
	Sessions Sessions
	// Router delivers what the handlers send. A host.RawRouter takes it as
	// bytes (see host.RawRouter).
	Router host.Router
	// Rosters, Archive and Blocks keep the users' rosters, message archives
	// and blocklists (roster.MemStore, archive.MemStore, blocking.MemStore,
	// or package pgstore's).
	Rosters roster.Store
	Archive archive.Store
	Blocks  blocking.Store
	// Account configures the disco#info answers on an account's bare JID
	// (who may see them; the account's identity). Optional.
	Account disco.AccountConfig
	// Fallback serves the IQ requests to an account's bare JID that mixpam
	// does not (see Config.Fallback). Optional.
	Fallback host.IQHandler
	// Logger receives every handler's records. Nil discards them.
	Logger *slog.Logger
}

// New builds every mixpam handler with its defaults over the host's
// registry, router and stores, and the Dispatcher that routes stanzas to
// them: all of XEP-0405's participant-server duties (client-join and
// client-leave, the channel roster and its annotation, groupchat fan-out
// with the archive copy, presence to and from channels, MIX-aware
// blocking, disco and caps). A host that needs other limits or options
// builds the handlers itself and hands them to NewDispatcher; New is that
// wiring with the defaults.
func New(c HostConfig) (*Dispatcher, error) {
	switch {
	case c.Sessions == nil:
		return nil, errors.New("mixpam: HostConfig.Sessions is required")
	case c.Router == nil:
		return nil, errors.New("mixpam: HostConfig.Router is required")
	case c.Rosters == nil:
		return nil, errors.New("mixpam: HostConfig.Rosters is required")
	case c.Archive == nil:
		return nil, errors.New("mixpam: HostConfig.Archive is required")
	case c.Blocks == nil:
		return nil, errors.New("mixpam: HostConfig.Blocks is required")
	}
	exchange := host.NewExchange(c.Router)
	filter, err := blocking.NewFilter(blocking.FilterConfig{Checker: blocking.StoreChecker(c.Blocks)})
	if err != nil {
		return nil, err
	}
	rosterH, err := roster.NewHandler(roster.HandlerConfig{Store: c.Rosters, Sessions: c.Sessions, Router: c.Router, Logger: c.Logger})
	if err != nil {
		return nil, err
	}
	pres, err := presence.New(presence.Config{Sessions: c.Sessions, Router: c.Router, Rosters: c.Rosters, Block: filter, Logger: c.Logger})
	if err != nil {
		return nil, err
	}
	join, err := pam.NewJoinHandler(pam.JoinConfig{Exchanger: exchange, Roster: rosterH, Presence: pres, Logger: c.Logger})
	if err != nil {
		return nil, err
	}
	fanOut, err := pam.NewFanOut(pam.FanOutConfig{Sessions: c.Sessions, Router: c.Router, Roster: c.Rosters, Archive: c.Archive, Block: filter, Logger: c.Logger})
	if err != nil {
		return nil, err
	}
	mam, err := archive.NewMAMHandler(archive.MAMConfig{Store: c.Archive, Logger: c.Logger})
	if err != nil {
		return nil, err
	}
	blockH, err := blocking.NewHandler(blocking.HandlerConfig{Store: c.Blocks, Sessions: c.Sessions, Router: c.Router, Presence: pres, Logger: c.Logger})
	if err != nil {
		return nil, err
	}
	resolver, err := disco.NewResolver(disco.ResolverConfig{Exchanger: exchange, Logger: c.Logger})
	if err != nil {
		return nil, err
	}
	account := c.Account
	if account.Logger == nil {
		account.Logger = c.Logger
	}
	return NewDispatcher(Config{
		Router: c.Router, Exchange: exchange, FanOut: fanOut, Presence: pres,
		Resolver: resolver, Flags: c.Sessions, Account: account, Fallback: c.Fallback, Logger: c.Logger,
		IQ: []IQ{
			{Handler: join, Routes: pam.IQRoutes()},        // client-join, client-leave (XEP-0405 §2.6–2.8)
			{Handler: rosterH, Routes: roster.IQRoutes()},  // channel items, annotation (§2.9, §2.10)
			{Handler: mam, Routes: archive.IQRoutes()},     // the user's archive (§2.11, XEP-0313)
			{Handler: blockH, Routes: blocking.IQRoutes()}, // MIX-aware blocking (§2.12, XEP-0191)
		},
	})
}
