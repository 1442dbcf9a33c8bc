package server

import (
	"context"
	"math"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
)

// localDomain takes the stanzas the router has for the server's domain.
type localDomain struct{ s *Server }

// Deliver implements router.Deliverer. In a cluster, a stanza for an
// account's bare JID goes to the account's owner node.
func (l localDomain) Deliver(ctx context.Context, p packet.Packet) error {
	if p.To.Localpart() != "" && p.To.Resourcepart() == "" && l.s.toOwner(ctx, p.To, OwnedStanza, p.To, p.Raw) {
		return nil
	}
	l.deliverHere(ctx, p)
	return nil
}

// deliverHere delivers a stanza for the server's domain on this node.
func (l localDomain) deliverHere(ctx context.Context, p packet.Packet) {
	s := l.s
	switch {
	case p.To.Localpart() == "":
		s.toServer(ctx, p)
	case !s.cfg.Accounts.Exists(p.To.Localpart()):
		// RFC 6121 §8.5.1: no such user. Presence is dropped silently.
		if p.Kind != packet.Presence {
			s.router.Bounce(ctx, p, stanza.ServiceUnavailable, "no such user")
		}
	case isGroupchatToAccount(p):
		// The fan-out applies the blocklist itself, once per message.
		s.toBareJID(ctx, p)
	case s.blockedInbound(ctx, p):
	case p.To.Resourcepart() != "":
		s.toFullJID(ctx, p)
	default:
		s.toBareJID(ctx, p)
	}
}

// toServer handles stanzas addressed to the server's domain (RFC 6120
// §10.5.3.2 for a domain's own stanzas: the server answers IQs itself).
func (s *Server) toServer(ctx context.Context, p packet.Packet) {
	switch {
	case p.IsRequest():
		s.serverRequest(ctx, p)
	case p.Kind == packet.Message:
		s.router.Bounce(ctx, p, stanza.ServiceUnavailable, "the server takes no messages")
	}
	// Presence, IQ answers nobody waited for, and errors are dropped.
}

// toFullJID delivers to one resource (RFC 6121 §8.5.3). When the resource is
// not online, messages fall back to the bare JID rules (§8.5.3.2.1),
// subscription presence is handled as for the bare JID, other presence is
// dropped and IQ requests get service-unavailable.
func (s *Server) toFullJID(ctx context.Context, p packet.Packet) {
	if s.router.SendToSession(p.To, p.Raw) {
		return
	}
	switch p.Kind {
	case packet.Message:
		if p.Type == string(stanza.GroupChatMessage) {
			s.router.Bounce(ctx, p, stanza.ServiceUnavailable, "the resource is not online")
			return
		}
		s.toBareJID(ctx, p)
	case packet.Presence:
		if isSubscription(p.Type) {
			s.toBareJID(ctx, p)
		}
	case packet.IQ:
		if p.IsRequest() {
			s.router.Bounce(ctx, p, stanza.ServiceUnavailable, "the resource is not online")
		}
	}
}

// toBareJID delivers to an account (RFC 6121 §8.5.2, with XEP-0405 §2.2 for
// groupchat from channels). The work for one account is bounded by
// RequestTimeout, whatever bound the sender set: the MIX service routes a
// message to each participant in turn, so one account whose stores hang
// must not use up the time of the others (and of the poster's session,
// which routes it).
func (s *Server) toBareJID(ctx context.Context, p packet.Packet) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	user := p.To.Bare()
	switch p.Kind {
	case packet.IQ:
		if p.IsRequest() {
			s.accountRequest(ctx, p, user)
		}
		// Answers to the bare JID that no exchange waited for are dropped.
	case packet.Presence:
		s.presenceToAccount(ctx, p, user)
	case packet.Message:
		switch stanza.MessageType(p.Type) {
		case stanza.GroupChatMessage:
			s.groupchat(ctx, p, user)
		case stanza.HeadlineMessage:
			s.toResources(ctx, user, p, false)
		case stanza.ErrorMessage:
			s.toResources(ctx, user, p, true)
		default:
			if !s.toResources(ctx, user, p, true) {
				// No offline storage: RFC 6121 §8.5.2.2.1.
				s.router.Bounce(ctx, p, stanza.ServiceUnavailable, "the user is not online")
			}
		}
	}
}

// toResources delivers a message to the user's available resources with
// non-negative priority: all of them, or (highestOnly) those with the
// highest priority (RFC 6121 §8.5.2.1.1). It reports whether any took it.
func (s *Server) toResources(ctx context.Context, user jid.JID, p packet.Packet, highestOnly bool) bool {
	resources, _ := s.sessions.Resources(ctx, user)
	targets := make([]jid.JID, 0, len(resources))
	top := int8(math.MinInt8)
	for _, r := range resources {
		if !r.Available || r.Priority < 0 {
			continue
		}
		if highestOnly && r.Priority > top {
			top, targets = r.Priority, targets[:0]
		}
		if !highestOnly || r.Priority == top {
			targets = append(targets, r.JID)
		}
	}
	sent := false
	for _, to := range targets {
		if s.router.SendToSession(to, p.Raw) {
			sent = true
		}
	}
	return sent
}

// isGroupchatToAccount reports a groupchat message to a bare JID: the
// fan-out's (XEP-0405 §2.2), which checks the blocklist itself.
func isGroupchatToAccount(p packet.Packet) bool {
	return p.Kind == packet.Message && p.Type == string(stanza.GroupChatMessage) && p.To.Resourcepart() == ""
}
