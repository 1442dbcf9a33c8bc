package presence

import (
	"context"
	"errors"
	"fmt"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/splice"
	"github.com/mixpam/mixpam/roster"
)

// A join or leave changes which channels the user's presence goes to and
// comes from (XEP-0405 §2.9), and the roster item that says so is written
// only after the channel confirmed. Two things fall between the channel's
// answer and the roster write:
//
//   - The channel sends the joiner its current presence right after the join
//     (XEP-0405 §2.9.3: "Upon this subscription the MIX channel will send
//     [...] presence for all of the items in the presence node"). It may
//     arrive before the item is in
//     the roster, and Inbound then drops it as presence from a channel the
//     user has not joined (counted in Stats.Spoofed): it cannot tell it from
//     spoofed presence, and accepting presence from a channel whose join is
//     not confirmed would let anyone who learns of a pending join feed the
//     cache. Joined asks the channel for it again instead, with the refresh
//     of §2.9.3 (directed presence from the user's bare JID), whenever a
//     MIX-capable client is online; otherwise the channel is refreshed when
//     one comes online, as any channel whose presence the cache does not
//     hold.
//   - The user's MIX-capable clients that are already online sent their
//     presence before the channel was in the roster. XEP-0405 §2.9: the
//     item "will lead to the user's server correctly sending user's presence
//     from all the user's MIX clients to the MIX channel", as RFC 6121
//     §3.1.5 has a server send the user's current presence when it approves
//     a subscription. Joined sends it.
//
// Leaving ends the channel's presence subscription: Left forgets what the
// cache holds of the channel and tells the user's MIX-capable clients that
// each of those senders is gone, with unavailable presence from it, so that
// they do not keep showing stale presence. XEP-0405 says nothing of this,
// and the channel sends the leaver nothing more (XEP-0403 §4.4 sends the
// leaver's unavailable presence to the others); RFC 6121 §3.2 likewise has
// a cancelled presence subscription followed by unavailable presence from
// the contact's resources.

// Joined tells the handler that user (a bare JID) has joined channel and
// that the channel's item is now in the user's roster with the subscription
// the join settled on (pam.JoinHandler calls it after the roster write).
// Then:
//
//   - if the user shares presence with the channel (subscription "from"),
//     the last available presence of each of the user's MIX-capable clients
//     that is online goes to the channel's bare JID, from the client's full
//     JID (XEP-0405 §2.9, Listing 13), as if the client had just sent it;
//   - if at least one such client is online, the channel is refreshed with
//     directed presence from the user's bare JID (XEP-0405 §2.9.3), so that
//     it sends again the presence it sent at the join, which may have arrived
//     before the roster held the channel and been dropped. A refresh of the
//     channel already in progress is not repeated. With no such client
//     online, the channel is refreshed when one comes online.
//
// Nothing goes to a channel the BlockFilter blocks. Calling Joined again for
// a channel the user had already joined (a second join changing the nick or
// the subscriptions) sends the presence again and refreshes the channel
// again unless a refresh is in progress, which is harmless. The error is the roster's, the BlockFilter's or the Router's; one
// matching roster.ErrNotFound or roster.ErrNotChannel means that the roster
// holds no channel item for channel, and nothing was sent.
func (h *Handler) Joined(ctx context.Context, user, channel jid.JID) error {
	defer h.lockOutbound(user)()
	return h.joined(ctx, user, channel)
}

func (h *Handler) joined(ctx context.Context, user, channel jid.JID) error {
	user, channel = user.Bare(), channel.Bare()
	item, err := h.rosters.Item(ctx, user, channel)
	switch {
	case err != nil:
		return fmt.Errorf("presence: reading the joined channel's roster item: %w", err)
	case !item.Channel:
		return fmt.Errorf("presence: joined %s: %w", channel, roster.ErrNotChannel)
	}
	blocked, err := h.blocked(ctx, user, channel)
	if err != nil || blocked {
		if blocked {
			h.log.DebugContext(ctx, "presence: not sending to blocked channel", "user", user, "channel", channel)
		}
		return err
	}

	key := channel.String()
	now := h.now()
	var presences []splice.Stanza
	var due []jid.JID
	st := &h.state
	st.mu.Lock()
	st.joins++
	if u := st.userFor(user.String(), false); u != nil {
		// What the cache holds of the channel from before the join is not
		// its full presence now.
		if c := u.channels[key]; c != nil {
			c.synced = false
			u.forgetChannelIfIdle(c)
		}
		for _, sess := range u.sessions {
			presences = append(presences, sess.presence)
		}
		if len(u.sessions) > 0 {
			due = u.refreshesDue([]jid.JID{channel}, now, h.refreshTimeout)
			// A session coming online whose roster read missed the
			// channel must not prune it (see available).
			u.channelFor(key).joinedAt = st.joins
		}
		st.forgetIfIdle(u)
	}
	st.mu.Unlock()

	sc := h.getScratch()
	defer h.putScratch(sc)
	sc.targets = append(sc.targets[:0], target{jid: channel, key: key})
	var errs []error
	if sharesPresence(item) {
		for _, p := range presences {
			errs = append(errs, h.sendAll(ctx, &sc.out, p, sc.targets))
		}
	}
	if len(due) > 0 {
		errs = append(errs, h.refreshTargets(ctx, sc, user, sc.targets))
	}
	h.log.DebugContext(ctx, "presence: channel joined", "user", user, "channel", channel,
		"clients", len(presences), "shared", sharesPresence(item), "refreshing", len(due))
	return errors.Join(errs...)
}

// Left tells the handler that user (a bare JID) has left channel and that
// the channel's item is no longer in the user's roster (pam.JoinHandler
// calls it after the roster write). The handler forgets the channel's cached
// presence and any refresh of it in progress, and each of the user's
// MIX-capable clients that is online gets unavailable presence from every
// sender of the channel whose available presence the cache held (and whom
// the user does not block: those it already saw go), so that it does not
// keep showing them. Nothing is sent to the channel: it removed the
// user's clients itself (XEP-0403 §4.4). The error is the Router's.
func (h *Handler) Left(ctx context.Context, user, channel jid.JID) error {
	user, channel = user.Bare(), channel.Bare()
	sc := h.getScratch()
	defer h.putScratch(sc)

	st := &h.state
	st.mu.Lock()
	u := st.userFor(user.String(), false)
	if u == nil {
		st.mu.Unlock()
		return nil
	}
	gone, err := h.forgetChannel(sc, u, channel.String())
	var missed int
	sc.targets, missed = u.deliverAfterCache(sc.targets[:0], gone, st.maxPerUser)
	st.forgetIfIdle(u)
	st.mu.Unlock()
	h.stats.missed.Add(uint64(missed))

	h.log.DebugContext(ctx, "presence: channel left", "user", user, "channel", channel, "senders", len(gone))
	errs := []error{err}
	for _, s := range gone {
		errs = append(errs, h.sendAll(ctx, &sc.out, s, sc.targets))
	}
	return errors.Join(errs...)
}

// forgetChannel drops u's cached entries and record of channel key, and
// returns, when u has sessions online, the unavailable presence of each
// sender whose entry it dropped, least recently updated first. The caller
// holds state.mu.
func (h *Handler) forgetChannel(sc *scratch, u *user, key string) ([]splice.Stanza, error) {
	c := u.channels[key]
	if c == nil {
		return nil, nil
	}
	var gone []splice.Stanza
	var errs []error
	unavailable := stanza.Presence{Type: stanza.UnavailablePresence}
	for e := u.lru.head; e != nil; {
		next := e.links[userEntries].next
		if e.channel == c {
			if len(u.sessions) > 0 && !e.blocked {
				s, err := sc.capture(unavailable, e.sender, nil)
				if err != nil {
					errs = append(errs, err)
				} else {
					gone = append(gone, s.Clone())
				}
			}
			h.state.drop(e)
		}
		e = next
	}
	delete(u.channels, key)
	return gone, errors.Join(errs...)
}
