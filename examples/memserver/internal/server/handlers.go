package server

import (
	"context"
	"encoding/xml"
	"time"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
)

// DefaultRequestTimeout is the bound on the work for one stanza when
// Config.RequestTimeout is zero.
const DefaultRequestTimeout = 30 * time.Second

// iqFunc answers an IQ request: it returns the whole reply (result or
// error, from and to swapped) for the server to route, or nil when it has
// answered itself or no answer is due. It must not wait on a remote entity:
// it runs on the requesting session's dispatcher (mixpam's join handler, for
// one, answers later through the router).
type iqFunc func(ctx context.Context, p packet.Packet) xml.TokenReader

// iqRoute is how one IQ payload is served.
type iqRoute struct {
	fn iqFunc
	// ownerOnly restricts the request to the account's own resources
	// (ping, legacy session): others get service-unavailable, the answer
	// RFC 6121 §8.5.2.1.3 gives for anything not supported. Handlers that
	// check the requester themselves and answer forbidden (the mixpam
	// ones) are not owner-only.
	ownerOnly bool
}

// handlers are the IQ handlers of the server's domain and of its accounts'
// bare JIDs, keyed by the payload element's name.
type handlers struct {
	server  map[xml.Name]iqRoute
	account map[xml.Name]iqRoute
}

// serverRequest serves an IQ get or set addressed to the server's domain.
func (s *Server) serverRequest(ctx context.Context, p packet.Packet) {
	s.dispatchIQ(ctx, p, s.handlers.server, true)
}

// accountRequest serves an IQ get or set addressed to user's bare JID (or
// without to, from one of user's resources).
// The server's own (ping, legacy session) are served here, everything
// else by mixpam's dispatcher.
func (s *Server) accountRequest(ctx context.Context, p packet.Packet, user jid.JID) {
	if name, ok := payloadName(p); ok {
		if _, own := s.handlers.account[name]; !own {
			s.mixpamRequest(ctx, p)
			return
		}
	}
	s.dispatchIQ(ctx, p, s.handlers.account, p.From.Bare().Equal(user))
}

// ownAccountRequest serves a request without to from one of user's
// resources, on user's owner node.
func (s *Server) ownAccountRequest(ctx context.Context, p packet.Packet, user jid.JID) {
	if !s.toOwner(ctx, user, OwnedStanza, user, p.Raw) {
		s.accountRequest(ctx, p, user)
	}
}

func (s *Server) dispatchIQ(ctx context.Context, p packet.Packet, table map[xml.Name]iqRoute, owner bool) {
	name, ok := payloadName(p)
	route, found := table[name]
	if !ok || !found || route.ownerOnly && !owner {
		s.replyError(ctx, p, stanza.ServiceUnavailable, "this entity does not serve "+name.Space+" "+name.Local)
		return
	}
	s.routeReply(ctx, route.fn(ctx, p))
}

// routeReply routes a handler's reply, if any.
func (s *Server) routeReply(ctx context.Context, reply xml.TokenReader) {
	if reply == nil {
		return
	}
	p, err := packet.Encode(reply)
	if err != nil {
		s.log.Warn("unserialisable reply", "err", err)
		return
	}
	s.router.Send(ctx, p)
}

// replyError answers a request with a stanza error from its to (or, for a
// request without to, from the server).
func (s *Server) replyError(ctx context.Context, p packet.Packet, cond stanza.Condition, text string) {
	if reply, ok := packet.ErrorReply(p, s.domain, packet.Err(cond, text)); ok {
		s.router.Send(ctx, reply)
	}
}

// result returns an empty IQ result for p, from p's to.
func result(p packet.Packet) xml.TokenReader {
	iq := p.IQ()
	return iq.Result(nil)
}

// payloadName returns the name of the IQ's payload element.
func payloadName(p packet.Packet) (xml.Name, bool) {
	r := p.Payload()
	for {
		tok, err := r.Token()
		if err != nil {
			return xml.Name{}, false
		}
		if start, ok := tok.(xml.StartElement); ok {
			return start.Name, true
		}
	}
}
