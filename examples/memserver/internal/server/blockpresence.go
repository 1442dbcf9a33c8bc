package server

import (
	"context"
	"encoding/xml"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/router"
	"github.com/mixpam/mixpam/roster"
)

// contactPresence makes the presence of ordinary roster contacts follow a
// blocklist change (XEP-0191 §3.3, §3.4); channel presence is the presence
// handler's (presence.Handler.BlocklistChanged). Both directions:
//
//   - the user's presence: a contact the change concerns that has a
//     subscription to it (from or both) gets, on a block, unavailable
//     presence from each of the user's available resources ("MUST send
//     unavailable presence information to the JID") and, on an unblock,
//     their current presence;
//   - the contact's presence: the user's available resources get, on a
//     block, unavailable presence from each available resource of a contact
//     they are subscribed to (to or both) that the change concerns, so that
//     they do not keep showing it online; on an unblock, its current
//     presence. Contacts are this server's accounts: it has no server to
//     server connections.
//
// A contact still blocked by another item after an unblock is left alone.
type contactPresence struct {
	s      *Server
	filter *blocking.Filter
}

// BlocklistChanged implements blocking.PresenceUpdater.
func (c contactPresence) BlocklistChanged(ctx context.Context, ch blocking.Change) error {
	s, user := c.s, ch.User.Bare()
	items, _, err := s.rosters.Items(ctx, user)
	if err != nil {
		return err
	}
	for _, it := range items {
		if it.Channel {
			continue
		}
		if it.Subscription == roster.From || it.Subscription == roster.Both {
			if c.follows(ctx, ch, it.JID) {
				c.userPresenceTo(ctx, user, it.JID, ch.Unblock)
			}
		}
		if it.Subscription == roster.To || it.Subscription == roster.Both {
			c.contactPresenceTo(ctx, ch, user, it.JID)
		}
	}
	return nil
}

// follows reports whether peer's presence must follow the change: the
// change concerns peer, and peer is now blocked after a block, or no longer
// blocked after an unblock.
func (c contactPresence) follows(ctx context.Context, ch blocking.Change, peer jid.JID) bool {
	if !ch.Affects(blocking.Peer{JID: peer}) {
		return false
	}
	blocked, err := c.filter.Blocked(ctx, ch.User, blocking.Peer{JID: peer})
	return err == nil && blocked != ch.Unblock
}

// userPresenceTo sends contact the user's current presence, or unavailable
// presence from each available resource when blocking.
func (c contactPresence) userPresenceTo(ctx context.Context, user, contact jid.JID, unblock bool) {
	s := c.s
	if unblock {
		s.sendCurrentPresence(ctx, user, contact)
		return
	}
	resources, _ := s.sessions.Resources(ctx, user)
	for _, r := range resources {
		if !r.Available {
			continue
		}
		if p, err := presenceStanza(r.JID, contact, stanza.UnavailablePresence); err == nil {
			s.router.Send(ctx, p)
		}
	}
}

// contactPresenceTo shows the user's available resources the presence of
// each available resource of contact that follows the change: unavailable
// when blocked, current when unblocked. It puts the stanzas straight into
// the sessions' queues: the unavailable presence comes from a JID the user
// has just blocked, which the server's delivery would drop.
func (c contactPresence) contactPresenceTo(ctx context.Context, ch blocking.Change, user, contact jid.JID) {
	s := c.s
	theirs, _ := s.sessions.Resources(ctx, contact)
	var shown []packet.Packet
	for _, r := range theirs {
		if !r.Available || !c.follows(ctx, ch, r.JID) {
			continue
		}
		p, ok := s.sessionPresence(r.JID)
		if !ok {
			continue
		}
		if !ch.Unblock {
			var err error
			if p, err = presenceStanza(r.JID, jid.JID{}, stanza.UnavailablePresence); err != nil {
				continue
			}
		}
		shown = append(shown, p)
	}
	if len(shown) == 0 {
		return
	}
	mine, _ := s.sessions.Resources(ctx, user)
	for _, r := range mine {
		if !r.Available {
			continue
		}
		for _, p := range shown {
			to := r.JID
			out, err := p.Rewrite(func(start *xml.StartElement) { packet.SetAttr(start, "to", to.String()) })
			if err == nil {
				s.router.SendToSession(to, out.Raw)
			}
		}
	}
}

// mixpamRouter is the router of mixpam's handlers. A stanza for a client
// session bound here goes straight into its queue, with one copy and no
// parse: the handlers have applied the user's blocklist themselves (the
// fan-out once per message, presence.Config.Block; XEP-0405 §2.12), their
// answers and pushes come from the user's own bare JID, and the unavailable
// presence the presence handler sends on a block (XEP-0191 §3.3) comes from
// the JID just blocked, which the server's delivery (blockedInbound) would
// drop. Everything else, stanzas to channels included, is routed as usual.
type mixpamRouter struct{ r *router.Router }

// Route implements host.Router.
func (pr mixpamRouter) Route(ctx context.Context, to jid.JID, st xml.TokenReader) error {
	if to.Resourcepart() == "" {
		return pr.r.Route(ctx, to, st)
	}
	p, err := packet.Encode(st)
	if err != nil {
		return err
	}
	if !pr.r.SendToSession(to, p.Raw) {
		p.To = to
		pr.r.Send(ctx, p)
	}
	return nil
}

// RouteRaw implements host.RawRouter. raw is copied before RouteRaw
// returns (a session's queue copies what it takes).
func (pr mixpamRouter) RouteRaw(ctx context.Context, to jid.JID, raw []byte) error {
	if to.Resourcepart() != "" && pr.r.SendToSession(to, raw) {
		return nil
	}
	return pr.r.RouteRaw(ctx, to, raw)
}

// userBlocks reports whether user blocks peer; when the blocklist cannot be
// read, it does (nothing goes where a block might apply).
func (s *Server) userBlocks(ctx context.Context, user, peer jid.JID) bool {
	blocked, err := s.mp.filter.Blocked(ctx, user, blocking.Peer{JID: peer})
	return blocked || err != nil
}
