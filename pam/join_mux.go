package pam

import (
	"context"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
)

// Handle returns an option that registers h on a mellium mux.ServeMux for the
// client-join and client-leave IQs (of type set, and get to refuse them) of
// one client session, whose authenticated full JID is session, through the
// generic adapter host.Mux (its doc gives the policy for from, the context
// and what the adapter blocks).
//
// The adapter blocks until the client's answer is written, up to Timeout
// and at most two more Timeouts for the roster update and a leave that
// undoes a join the roster could not record, and meanwhile the session's Serve loop
// reads nothing else and holds the session's output lock. Hosts that can
// deliver the answer later should call ServeIQ instead. Roster
// pushes still go through the Roster's Router, which therefore must not
// write synchronously into the session being served: queue them.
func Handle(ctx context.Context, h *JoinHandler, session jid.JID) mux.Option {
	return host.Mux(ctx, h, session, IQRoutes()...)
}

// IQRoutes are the IQs a JoinHandler serves: client-join and client-leave,
// of type set (and get, to refuse them with bad-request).
func IQRoutes() []host.IQRoute {
	var routes []host.IQRoute
	for _, typ := range []stanza.IQType{stanza.SetIQ, stanza.GetIQ} {
		routes = append(routes, host.IQRoute{Type: typ, Name: clientJoinName}, host.IQRoute{Type: typ, Name: clientLeaveName})
	}
	return routes
}
