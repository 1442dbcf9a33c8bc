package server

import (
	"context"
	"encoding/xml"
	"strconv"
	"strings"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/ns"
	"github.com/mixpam/mixpam/roster"
)

// presenceFromClient handles presence the client sends (RFC 6121 §4): with
// no to it is broadcast presence, with a to it is directed or a
// subscription request.
func (sess *session) presenceFromClient(ctx context.Context, p packet.Packet) {
	s := sess.srv
	if p.To.String() != "" {
		switch {
		case isSubscription(p.Type):
			s.outboundSubscription(ctx, p)
		case sess.blockedOutbound(ctx, p):
		case !sess.mayDirect(ctx, p):
		default:
			sess.directedPresence(ctx, p)
		}
		return
	}
	switch stanza.PresenceType(p.Type) {
	case stanza.AvailablePresence:
		sess.broadcastAvailable(ctx, p)
	case stanza.UnavailablePresence:
		sess.broadcastUnavailableStanza(ctx, p)
	default:
		sess.reject(p, stanza.BadRequest, "presence of type "+p.Type+" needs a to address")
	}
}

// directedPresence routes presence to one entity and remembers who got
// available presence outside the roster, so that they hear when the
// session goes offline (RFC 6121 §4.6).
func (sess *session) directedPresence(ctx context.Context, p packet.Packet) {
	key := p.To.String()
	sess.mu.Lock()
	switch stanza.PresenceType(p.Type) {
	case stanza.AvailablePresence:
		if len(sess.directed) < maxDirected {
			sess.directed[key] = struct{}{}
		}
	case stanza.UnavailablePresence:
		delete(sess.directed, key)
	}
	sess.mu.Unlock()
	sess.srv.router.Send(ctx, p)
}

// mayDirect reports whether the session's directed presence p may go to
// p.To: not to a joined channel from a client that is not MIX capable
// (XEP-0405 §2.9). Refused presence is dropped without an answer.
func (sess *session) mayDirect(ctx context.Context, p packet.Packet) bool {
	ok, err := sess.srv.mp.presence.Directed(ctx, sess.jid, p.To)
	if err != nil {
		sess.srv.log.Debug("directed presence not routed", "from", sess.jid.String(), "to", p.To.String(), "err", err)
	}
	return ok
}

// maxDirected bounds the directed-presence recipients remembered per session.
const maxDirected = 1000

// broadcastAvailable handles available presence without to (RFC 6121
// §4.2–4.4): the first one is initial presence, which also probes the
// user's contacts.
func (sess *session) broadcastAvailable(ctx context.Context, p packet.Packet) {
	s := sess.srv
	sess.mu.Lock()
	initial := sess.presence == nil
	sess.presence = p.Raw
	sess.mu.Unlock()
	if !s.router.IsBound(sess.jid, sess) {
		return
	}
	_ = s.sessions.SetPresence(ctx, sess.jid, true, priority(p))
	s.clientCaps(sess, p)

	user := sess.jid.Bare()
	items, _, _ := s.rosters.Items(ctx, user)
	for _, it := range items {
		if it.Channel || s.userBlocks(ctx, user, it.JID) {
			// A blocked contact sees the user offline (XEP-0191 §3.3).
			continue
		}
		if it.Subscription == roster.From || it.Subscription == roster.Both {
			s.routeTo(ctx, p, it.JID)
		}
		if initial && (it.Subscription == roster.To || it.Subscription == roster.Both) {
			s.probe(ctx, user, it.JID)
		}
	}
	sess.toOwnResources(ctx, p, initial)
	if initial {
		// Subscription requests that came while the user was offline
		// (RFC 6121 §3.1.3).
		for _, raw := range s.pendingRequests(user) {
			sess.q.Send(raw)
		}
	}
	sess.toChannels(ctx, p)
}

// broadcastUnavailableStanza handles unavailable presence without to from
// the client (RFC 6121 §4.5.1).
func (sess *session) broadcastUnavailableStanza(ctx context.Context, p packet.Packet) {
	s := sess.srv
	sess.mu.Lock()
	was := sess.presence != nil
	sess.presence = nil
	directed := sess.directed
	sess.directed = make(map[string]struct{})
	sess.mu.Unlock()
	if !was {
		return
	}
	if s.router.IsBound(sess.jid, sess) {
		_ = s.sessions.SetPresence(ctx, sess.jid, false, 0)
	}
	sess.broadcastOffline(ctx, p, directed)
	sess.toOwnResources(ctx, p, false)
}

// broadcastUnavailable sends unavailable presence on the session's behalf
// when it ends without having sent it (RFC 6121 §4.5.2).
func (sess *session) broadcastUnavailable(ctx context.Context) {
	p, err := presenceStanza(sess.jid, jid.JID{}, stanza.UnavailablePresence)
	if err != nil {
		return
	}
	sess.broadcastUnavailableStanza(ctx, p)
}

// broadcastOffline sends unavailable presence p to the contacts with a
// subscription from the user, to the JIDs that got directed presence, and
// to the user's channels.
func (sess *session) broadcastOffline(ctx context.Context, p packet.Packet, directed map[string]struct{}) {
	s := sess.srv
	items, _, _ := s.rosters.Items(ctx, sess.jid.Bare())
	for _, it := range items {
		if !it.Channel && (it.Subscription == roster.From || it.Subscription == roster.Both) {
			delete(directed, it.JID.String())
			s.routeTo(ctx, p, it.JID)
		}
	}
	for to := range directed {
		if j, err := jid.Parse(to); err == nil {
			s.routeTo(ctx, p, j)
		}
	}
	sess.toChannels(ctx, p)
}

// toOwnResources sends the session's presence to the user's other available
// resources and, on initial presence, theirs to it (RFC 6121 §4.2.2).
func (sess *session) toOwnResources(ctx context.Context, p packet.Packet, initial bool) {
	s := sess.srv
	resources, _ := s.sessions.Resources(ctx, sess.jid.Bare())
	for _, r := range resources {
		if r.JID.Equal(sess.jid) || !r.Available {
			continue
		}
		s.routeTo(ctx, p, r.JID)
		if initial {
			if other, ok := s.sessionPresence(r.JID); ok {
				s.routeTo(ctx, other, sess.jid)
			}
		}
	}
}

// probe asks contact's server for contact's presence on user's behalf (RFC
// 6121 §4.3.1).
func (s *Server) probe(ctx context.Context, user, contact jid.JID) {
	p, err := presenceStanza(user, contact, stanza.ProbePresence)
	if err == nil {
		s.router.Send(ctx, p)
	}
}

// answerProbe answers a probe of user from a contact with a subscription
// from the user (RFC 6121 §4.3.2): the presence of each available resource,
// or unavailable presence from the bare JID when none is.
func (s *Server) answerProbe(ctx context.Context, user, prober jid.JID) {
	it, err := s.rosters.Item(ctx, user, prober.Bare())
	if err != nil || it.Channel || (it.Subscription != roster.From && it.Subscription != roster.Both) {
		return
	}
	if s.sendCurrentPresence(ctx, user, prober) {
		return
	}
	if p, err := presenceStanza(user, prober, stanza.UnavailablePresence); err == nil {
		s.router.Send(ctx, p)
	}
}

// sendCurrentPresence sends the last presence of each of user's available
// resources to to, and reports whether there was any.
func (s *Server) sendCurrentPresence(ctx context.Context, user, to jid.JID) bool {
	resources, _ := s.sessions.Resources(ctx, user)
	sent := false
	for _, r := range resources {
		if p, ok := s.sessionPresence(r.JID); ok && r.Available {
			s.routeTo(ctx, p, to)
			sent = true
		}
	}
	return sent
}

// sessionPresence returns the last available presence of the session bound
// to full.
func (s *Server) sessionPresence(full jid.JID) (packet.Packet, bool) {
	rs, ok := s.router.Lookup(full)
	sess, isClient := rs.(*session)
	if !ok || !isClient {
		return packet.Packet{}, false
	}
	sess.mu.Lock()
	raw := sess.presence
	sess.mu.Unlock()
	if raw == nil {
		return packet.Packet{}, false
	}
	p, err := packet.Parse(raw)
	return p, err == nil
}

// presenceToAccount handles presence addressed to a local account's bare
// JID (RFC 6121 §3, §4.3, §8.5.2.1.2).
func (s *Server) presenceToAccount(ctx context.Context, p packet.Packet, user jid.JID) {
	switch {
	case isSubscription(p.Type):
		s.inboundSubscription(ctx, p, user)
	case s.channelPresence(ctx, p):
		// Channel presence and probes: XEP-0405 §2.9.2, XEP-0403 §5.
	case p.Type == string(stanza.ProbePresence):
		s.answerProbe(ctx, user, p.From)
	default:
		resources, _ := s.sessions.Resources(ctx, user)
		for _, r := range resources {
			if r.Available {
				s.router.SendToSession(r.JID, p.Raw)
			}
		}
	}
}

// routeTo routes a copy of p addressed to to.
func (s *Server) routeTo(ctx context.Context, p packet.Packet, to jid.JID) {
	out, err := p.Rewrite(func(start *xml.StartElement) { packet.SetAttr(start, "to", to.String()) })
	if err != nil {
		return
	}
	s.router.Send(ctx, out)
}

// priority reads the presence's <priority/> (RFC 6121 §4.7.2.3); missing or
// invalid means 0.
func priority(p packet.Packet) int8 {
	d := xml.NewTokenDecoder(p.Payload())
	for {
		tok, err := d.Token()
		if err != nil {
			return 0
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		// Children of a serialised stanza are in no namespace or in the
		// stream's, depending on where the stanza came from.
		if start.Name.Space != "" && start.Name.Space != ns.Client || start.Name.Local != "priority" {
			if d.Skip() != nil {
				return 0
			}
			continue
		}
		var v string
		if d.DecodeElement(&v, &start) != nil {
			return 0
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 8)
		if err != nil {
			return 0
		}
		return int8(n)
	}
}

func isSubscription(t string) bool {
	switch stanza.PresenceType(t) {
	case stanza.SubscribePresence, stanza.SubscribedPresence, stanza.UnsubscribePresence, stanza.UnsubscribedPresence:
		return true
	}
	return false
}

// presenceStanza renders presence of the given type from from to to.
func presenceStanza(from, to jid.JID, typ stanza.PresenceType) (packet.Packet, error) {
	return packet.Encode(stanza.Presence{From: from, To: to, Type: typ}.Wrap(nil))
}
