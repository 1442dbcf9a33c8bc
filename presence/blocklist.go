package presence

import (
	"context"
	"errors"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/internal/splice"
)

// BlocklistChanged makes channel presence follow a change of the user's
// blocklist (XEP-0191 §3.3, §3.4, made MIX-aware by XEP-0405 §2.12); it
// implements blocking.PresenceUpdater, so that a blocking.Handler given it
// as HandlerConfig.Presence calls it. The change's items are matched as the
// Filter matches them: blocking a channel concerns all its senders, blocking one
// participant's encoded JID only that participant. Whether a sender is
// blocked after the change is the BlockFilter's verdict.
//
// From the channels to the user: every cached sender the change concerns
// that is now blocked is shown offline to the user's MIX-capable clients
// that are online, with unavailable presence from it, and its presence is
// no longer delivered; every one that is no longer blocked has its cached
// presence sent to them again. The cache keeps the presence of blocked
// senders up to date without delivering it, so what an unblock shows is
// current.
//
// From the user to the channels: a channel the user shares presence with
// (subscription "from") that the change concerns gets, when now blocked,
// unavailable presence from each of the user's MIX-capable clients that is
// online (XEP-0191 §3.3: "the user's server MUST send unavailable presence
// information to the JID"), and when no longer blocked their current
// presence (§3.4). Blocking one participant changes nothing on this side:
// the user's presence goes to the channel, not to its participants.
//
// The error is the roster's, the BlockFilter's or the Router's; a sender
// whose verdict could not be had is left as it was.
func (h *Handler) BlocklistChanged(ctx context.Context, c blocking.Change) error {
	defer h.lockOutbound(c.User)()
	user := c.User.Bare()
	return errors.Join(h.followFromChannels(ctx, user, c), h.followToChannels(ctx, user, c))
}

// followFromChannels shows or hides the cached senders the change concerns
// to the user's clients.
func (h *Handler) followFromChannels(ctx context.Context, user jid.JID, c blocking.Change) error {
	key := user.String()
	st := &h.state
	st.mu.Lock()
	// Presence being relayed now may carry a verdict from before the change:
	// relay decides again (see relay).
	h.blockEpoch(key).Add(1)
	u := st.userFor(key, false)
	var senders []jid.JID
	if u != nil {
		for e := u.lru.head; e != nil; e = e.links[userEntries].next {
			if j, err := jid.Parse(e.sender); err == nil && c.Affects(blocking.Peer{JID: j}) {
				senders = append(senders, j)
			}
		}
	}
	st.mu.Unlock()
	if len(senders) == 0 {
		return nil
	}

	// The verdicts, without the lock: the filter is the host's.
	var errs []error
	verdicts := make([]bool, len(senders))
	known := make([]bool, len(senders))
	for i, j := range senders {
		blocked, err := h.blocked(ctx, user, j)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		verdicts[i], known[i] = blocked, true
	}

	sc := h.getScratch()
	defer h.putScratch(sc)
	var out []splice.Stanza
	missed := 0
	st.mu.Lock()
	if u = st.userFor(key, false); u != nil {
		unavailable := stanza.Presence{Type: stanza.UnavailablePresence}
		for i, j := range senders {
			e := u.cache[j.String()]
			if !known[i] || e == nil || e.blocked == verdicts[i] {
				continue
			}
			e.blocked = verdicts[i]
			s := e.stanza
			if e.blocked {
				gone, err := sc.capture(unavailable, e.sender, nil)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				s = gone.Clone()
			}
			out = append(out, s)
		}
		sc.targets, missed = u.deliverAfterCache(sc.targets[:0], out, st.maxPerUser)
	}
	st.mu.Unlock()
	h.stats.missed.Add(uint64(missed))

	h.log.DebugContext(ctx, "presence: blocklist changed", "user", user, "unblock", c.Unblock, "senders", len(out))
	for _, s := range out {
		errs = append(errs, h.sendAll(ctx, &sc.out, s, sc.targets))
	}
	return errors.Join(errs...)
}

// followToChannels sends the user's presence, or its end, to the channels
// the change concerns.
func (h *Handler) followToChannels(ctx context.Context, user jid.JID, c blocking.Change) error {
	items, _, err := h.rosters.Items(ctx, user)
	if err != nil {
		return err
	}
	var channels []jid.JID
	for _, it := range items {
		if sharesPresence(it) && c.Affects(blocking.Peer{JID: it.JID}) {
			channels = append(channels, it.JID)
		}
	}
	if len(channels) == 0 {
		return nil
	}
	var sessions []jid.JID
	var presences []splice.Stanza
	st := &h.state
	st.mu.Lock()
	if u := st.userFor(user.String(), false); u != nil {
		for _, sess := range u.sessions {
			sessions = append(sessions, sess.jid)
			presences = append(presences, sess.presence)
		}
	}
	st.mu.Unlock()
	if len(sessions) == 0 {
		return nil
	}
	if !c.Unblock {
		// Unavailable presence from each client instead of its presence.
		for i, sess := range sessions {
			gone, err := unavailableFrom(sess)
			if err != nil {
				return err
			}
			presences[i] = gone
		}
	}

	sc := h.getScratch()
	defer h.putScratch(sc)
	var errs []error
	for _, ch := range channels {
		blocked, err := h.blocked(ctx, user, ch)
		if err != nil || blocked == c.Unblock {
			// Unknown, or still blocked by another item after an unblock.
			errs = append(errs, err)
			continue
		}
		sc.targets = append(sc.targets[:0], target{jid: ch, key: ch.String()})
		for _, p := range presences {
			errs = append(errs, h.sendAll(ctx, &sc.out, p, sc.targets))
		}
	}
	return errors.Join(errs...)
}
