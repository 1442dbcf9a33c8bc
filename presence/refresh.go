package presence

import (
	"context"
	"errors"
	"time"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/splice"
)

// Refreshing a channel's presence (XEP-0405 §2.9.3): "This MIX participant's
// server requests presence update by sending a directed presence stanza to
// the MIX channel from the user's bare JID. [...] This will cause the MIX
// channel to send a full presence update for the channel." A channel is
// refreshed when the user joins it while a MIX-capable client is online
// (Joined), and when a client comes online and the cache does not hold the
// channel's full presence: the channel never answered a refresh since the
// handler started (a restart leaves the cache empty, and the odd update that
// arrives before a client comes online is not the full picture), its entries
// were discarded (Config.DiscardWhileOffline) or one of them was evicted. One
// refresh per (user, channel) is in progress at a time, so clients coming
// online together send one directed presence, not one each; it ends with the
// first presence from the channel, which makes the channel synced, with an
// error from it, or after the refresh timeout.

// refreshesDue returns, among the joined channels, those whose presence u's
// sessions cannot get from the cache and that no refresh in progress covers,
// and marks a refresh in progress for each. The caller holds state.mu.
func (u *user) refreshesDue(joined []jid.JID, now time.Time, timeout time.Duration) []jid.JID {
	var due []jid.JID
	for _, ch := range joined {
		c := u.channelFor(ch.String())
		if !c.refreshUntil.IsZero() && now.Before(c.refreshUntil) {
			continue
		}
		if c.synced {
			continue
		}
		c.refreshUntil = now.Add(timeout)
		due = append(due, ch)
	}
	return due
}

// refreshAnswered ends the refresh of channel key in progress for u, if
// any: the channel answered with presence (synced) or with an error. The
// caller holds state.mu.
func (u *user) refreshAnswered(key string, synced bool) {
	if c := u.channels[key]; c != nil && !c.refreshUntil.IsZero() {
		c.refreshUntil = time.Time{}
		c.synced = synced
		u.forgetChannelIfIdle(c)
	}
}

// sendRefreshes sends directed available presence from the user's bare JID
// to each channel that is not blocked.
func (h *Handler) sendRefreshes(ctx context.Context, sc *scratch, user jid.JID, channels []jid.JID) error {
	if len(channels) == 0 {
		return nil
	}
	targets, err := h.unblocked(ctx, sc.targets[:0], user, channels)
	sc.targets = targets
	return errors.Join(err, h.refreshTargets(ctx, sc, user, targets))
}

// refreshTargets sends directed available presence from the user's bare JID
// to each target, channels the caller checked against the BlockFilter.
func (h *Handler) refreshTargets(ctx context.Context, sc *scratch, user jid.JID, targets []target) error {
	if len(targets) == 0 {
		return nil
	}
	s, err := splice.Capture(nil, stanza.Presence{From: user}.Wrap(nil))
	if err != nil {
		return err
	}
	for _, t := range targets {
		h.stats.refreshes.Add(1)
		h.log.DebugContext(ctx, "presence: refreshing channel presence", "user", user, "channel", t.key)
	}
	return h.sendAll(ctx, &sc.out, s, targets)
}
