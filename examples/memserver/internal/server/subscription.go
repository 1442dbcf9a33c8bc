package server

import (
	"context"
	"encoding/xml"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/roster"
)

// maxPendingPerUser bounds the inbound subscription requests kept for a
// user who has no available resource (RFC 6121 §3.1.3).
const maxPendingPerUser = 100

// subscriptionChange is the outcome of a subscription stanza on one roster:
// the item to store and push, if changed.
type subscriptionChange struct {
	item    roster.Item
	changed bool
}

// outboundSubscription handles a subscription stanza from one of user's
// clients (RFC 6121 §3.1.2, §3.1.5, §3.2.2, §3.3.2): it updates the user's
// roster, stamps the bare JID as from and routes the stanza. Channels' items
// are kept by MIX join and leave, not by presence subscriptions.
func (s *Server) outboundSubscription(ctx context.Context, p packet.Packet) {
	user, contact := p.From.Bare(), p.To.Bare()
	if contact.Equal(user) {
		return
	}
	typ := stanza.PresenceType(p.Type)
	s.subMu.Lock()
	it, err := s.rosters.Item(ctx, user, contact)
	if err != nil {
		it = roster.Item{JID: contact, Subscription: roster.None}
	}
	if it.Channel {
		s.subMu.Unlock()
		return
	}
	ch := subscriptionChange{item: it}
	route := true
	switch typ {
	case stanza.SubscribePresence:
		if it.Subscription != roster.To && it.Subscription != roster.Both && !it.Ask {
			ch.item.Ask, ch.changed = true, true
		}
	case stanza.SubscribedPresence:
		// Only approve a request that is pending (no pre-approval, RFC 6121
		// §3.4 is optional).
		route = s.takePending(user, contact)
		if route {
			ch.item.Subscription, ch.changed = addFrom(it.Subscription), true
		}
	case stanza.UnsubscribePresence:
		ch.item.Subscription, ch.item.Ask = dropTo(it.Subscription), false
		ch.changed = ch.item.Subscription != it.Subscription || it.Ask
	case stanza.UnsubscribedPresence:
		s.takePending(user, contact)
		ch.item.Subscription = dropFrom(it.Subscription)
		ch.changed = ch.item.Subscription != it.Subscription
	}
	s.storeChange(ctx, user, ch)
	s.subMu.Unlock()

	if !route {
		return
	}
	out, err := p.Rewrite(func(start *xml.StartElement) {
		packet.SetAttr(start, "from", user.String())
		packet.SetAttr(start, "to", contact.String())
	})
	if err != nil {
		return
	}
	s.router.Send(ctx, out)
	switch typ {
	case stanza.SubscribedPresence:
		// The new subscriber gets the user's current presence (§3.1.5).
		s.sendCurrentPresence(ctx, user, contact)
	case stanza.UnsubscribedPresence:
		// ... and a former one learns the user is gone (§3.2.2).
		resources, _ := s.sessions.Resources(ctx, user)
		for _, r := range resources {
			if r.Available {
				if off, err := presenceStanza(r.JID, contact, stanza.UnavailablePresence); err == nil {
					s.router.Send(ctx, off)
				}
			}
		}
	}
}

// inboundSubscription handles a subscription stanza to a local user (RFC
// 6121 §3.1.3, §3.1.6, §3.2.3, §3.3.3).
func (s *Server) inboundSubscription(ctx context.Context, p packet.Packet, user jid.JID) {
	contact := p.From.Bare()
	typ := stanza.PresenceType(p.Type)
	s.subMu.Lock()
	it, err := s.rosters.Item(ctx, user, contact)
	known := err == nil
	if !known {
		it = roster.Item{JID: contact, Subscription: roster.None}
	}
	if it.Channel {
		s.subMu.Unlock()
		return
	}
	ch := subscriptionChange{item: it}
	deliver := true
	autoApprove := false
	switch typ {
	case stanza.SubscribePresence:
		if it.Subscription == roster.From || it.Subscription == roster.Both {
			// Already approved: answer for the user (§3.1.3).
			deliver, autoApprove = false, true
		} else {
			s.addPending(user, contact, p.Raw)
		}
	case stanza.SubscribedPresence:
		deliver = known && it.Ask
		if deliver {
			ch.item.Subscription, ch.item.Ask, ch.changed = addTo(it.Subscription), false, true
		}
	case stanza.UnsubscribePresence:
		s.takePending(user, contact)
		ch.item.Subscription = dropFrom(it.Subscription)
		ch.changed = known && ch.item.Subscription != it.Subscription
	case stanza.UnsubscribedPresence:
		ch.item.Subscription, ch.item.Ask = dropTo(it.Subscription), false
		ch.changed = known && (ch.item.Subscription != it.Subscription || it.Ask)
	}
	s.storeChange(ctx, user, ch)
	s.subMu.Unlock()

	if autoApprove {
		if ok, err := presenceStanza(user, contact, stanza.SubscribedPresence); err == nil {
			s.router.Send(ctx, ok)
		}
		return
	}
	if !deliver {
		return
	}
	resources, _ := s.sessions.Resources(ctx, user)
	for _, r := range resources {
		if r.Available {
			s.router.SendToSession(r.JID, p.Raw)
		}
	}
}

// contactRemoved sends, after a client removed a contact from its roster,
// the presence RFC 6121 §2.5.2 asks for: unsubscribe when the user was
// subscribed to the contact (or asked to be), unsubscribed when the contact
// was subscribed to the user. A pending request from the contact is
// dropped.
func (s *Server) contactRemoved(ctx context.Context, user jid.JID, it roster.Item) {
	if it.Channel {
		return
	}
	s.takePending(user, it.JID)
	var types []stanza.PresenceType
	if it.Ask || it.Subscription == roster.To || it.Subscription == roster.Both {
		types = append(types, stanza.UnsubscribePresence)
	}
	if it.Subscription == roster.From || it.Subscription == roster.Both {
		types = append(types, stanza.UnsubscribedPresence)
	}
	for _, typ := range types {
		if p, err := presenceStanza(user, it.JID, typ); err == nil {
			s.router.Send(ctx, p)
		}
	}
}

// storeChange records a changed subscription in the roster, which pushes
// it (RFC 6121 §3, §2.1.6). The caller holds subMu.
func (s *Server) storeChange(ctx context.Context, user jid.JID, ch subscriptionChange) {
	if !ch.changed {
		return
	}
	if err := s.mp.roster.SetSubscription(ctx, user, ch.item.JID, ch.item.Subscription, ch.item.Ask); err != nil {
		s.log.Warn("roster update failed", "user", user.String(), "err", err)
	}
}

// addPending keeps an inbound subscription request until the user approves
// or denies it, to show it again when a client comes online.
func (s *Server) addPending(user, contact jid.JID, raw []byte) {
	s.pendingMu.Lock()
	defer s.pendingMu.Unlock()
	u := user.String()
	m := s.pending[u]
	if m == nil {
		m = make(map[string][]byte)
		s.pending[u] = m
	}
	if _, ok := m[contact.String()]; ok || len(m) < maxPendingPerUser {
		m[contact.String()] = raw
	}
}

// takePending removes a pending request and reports whether there was one.
func (s *Server) takePending(user, contact jid.JID) bool {
	s.pendingMu.Lock()
	defer s.pendingMu.Unlock()
	m := s.pending[user.String()]
	_, ok := m[contact.String()]
	delete(m, contact.String())
	if len(m) == 0 {
		delete(s.pending, user.String())
	}
	return ok
}

// pendingRequests returns the user's pending inbound requests.
func (s *Server) pendingRequests(user jid.JID) [][]byte {
	s.pendingMu.Lock()
	defer s.pendingMu.Unlock()
	var out [][]byte
	for _, raw := range s.pending[user.String()] {
		out = append(out, raw)
	}
	return out
}

// Subscription state transitions (RFC 6121 Appendix A).
func addFrom(s roster.Subscription) roster.Subscription {
	if s == roster.To || s == roster.Both {
		return roster.Both
	}
	return roster.From
}

func addTo(s roster.Subscription) roster.Subscription {
	if s == roster.From || s == roster.Both {
		return roster.Both
	}
	return roster.To
}

func dropFrom(s roster.Subscription) roster.Subscription {
	if s == roster.Both || s == roster.To {
		return roster.To
	}
	return roster.None
}

func dropTo(s roster.Subscription) roster.Subscription {
	if s == roster.Both || s == roster.From {
		return roster.From
	}
	return roster.None
}
