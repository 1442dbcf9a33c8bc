package presence

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/mixjid"
	"github.com/mixpam/mixpam/internal/splice"
	"github.com/mixpam/mixpam/roster"
)

// Inbound handles presence addressed to a local user's bare JID (p.To) from
// a remote entity when it is channel presence: the host must then do
// nothing more with it, whatever the error. Other presence gets
// host.ErrNotHandled, having had nothing read from payload, and the host
// processes it as usual (RFC 6121); when the roster lookup that decides
// failed, that error is wrapped in it. payload yields the stanza's
// children, as for Outbound, and may be nil.
//
// Presence is channel presence when its from is a channel in the user's
// roster (roster.Item.Channel), a resource of it, or an encoded participant
// JID of it (participant#channel@service/resource, XEP-0403 §3.2, parsed by
// the shared rules of XEP-0369 §4.6 and XEP-0405 §2.12). Then:
//
//   - available and unavailable presence (XEP-0405 §2.9.2, Listing 14) is
//     cached and passed on, with from unchanged and to set to each session,
//     to every MIX-capable session that is online (Listing 15), whether it
//     carries <mix xmlns='urn:xmpp:mix:presence:0'/> or not;
//   - a probe (XEP-0403 §5, RFC 6121 §4.3) is answered with the current
//     presence of the user's MIX-capable sessions, from their full JIDs, or
//     unavailable presence from the user's bare JID when none is online. A
//     channel the user does not share presence with (subscription "none",
//     XEP-0404) learns nothing: XEP-0403 §5 forbids it to probe, and the
//     probe goes unanswered;
//   - an error ends the refresh in progress (see Outbound) and goes no
//     further: it answers presence the server sent from the user's bare JID.
//
// Presence from an encoded JID of a channel the user has not joined claims
// to be channel presence and is not: it is dropped, without an answer
// (answering presence from strangers would reveal the account), and counted
// in Stats.Spoofed. The one exception is an ordinary roster contact whose
// localpart happens to contain '#': such presence is left to the host.
// Presence from a peer the BlockFilter blocks is not delivered and is
// counted (Stats.Blocked); its available and unavailable presence still
// updates the cache, without a client seeing it, so that an unblock shows
// the peer as it is (BlocklistChanged).
// Other presence types (subscription management) and presence to full JIDs
// are left to the host.
func (h *Handler) Inbound(ctx context.Context, p stanza.Presence, payload xml.TokenReader) error {
	handled, err := h.inbound(ctx, p, payload)
	switch {
	case handled:
		return err
	case err != nil:
		return fmt.Errorf("%w: %w", host.ErrNotHandled, err)
	}
	return host.ErrNotHandled
}

// inbound is Inbound, reporting whether the presence was handled.
func (h *Handler) inbound(ctx context.Context, p stanza.Presence, payload xml.TokenReader) (handled bool, err error) {
	user := p.To
	userKey := user.String()
	if !isBare(userKey) || p.From.Equal(jid.JID{}) {
		return false, nil
	}
	switch p.Type {
	case stanza.AvailablePresence, stanza.UnavailablePresence, stanza.ProbePresence, stanza.ErrorPresence:
	default:
		return false, nil
	}
	item, joined, err := h.channelOf(ctx, user, p.From)
	if err != nil || !joined {
		return h.spoofed(ctx, user, p.From, item, err)
	}
	if p.Type == stanza.AvailablePresence || p.Type == stanza.UnavailablePresence {
		return true, h.relay(ctx, user, userKey, item.JID.String(), p, payload)
	}
	blocked, err := h.blocked(ctx, user, p.From)
	if err != nil {
		return true, err
	}
	if blocked {
		h.stats.blocked.Add(1)
		h.log.DebugContext(ctx, "presence: dropped presence from blocked peer", "user", user, "from", p.From)
		return true, nil
	}
	switch p.Type {
	case stanza.ProbePresence:
		return true, h.answerProbe(ctx, user, item, p.From)
	case stanza.ErrorPresence:
		h.state.mu.Lock()
		if u := h.state.userFor(userKey, false); u != nil {
			u.refreshAnswered(item.JID.String(), false)
			h.state.forgetIfIdle(u)
		}
		h.state.mu.Unlock()
		h.log.DebugContext(ctx, "presence: channel returned a presence error", "user", user, "from", p.From)
		return true, nil
	}
	return true, nil
}

// isBare reports whether the JID j (as a string) has a localpart and no
// resourcepart, as a user's bare JID does.
func isBare(j string) bool {
	return strings.IndexByte(j, '@') > 0 && strings.IndexByte(j, '/') < 0
}

// channelOf finds the roster item of the channel from belongs to. It
// reports joined false, with the item of from's bare JID if there is one,
// when from belongs to no channel in the user's roster.
func (h *Handler) channelOf(ctx context.Context, user, from jid.JID) (item roster.Item, joined bool, err error) {
	ch := mixjid.Channel(from)
	item, err = h.rosters.Item(ctx, user, ch)
	if err == nil && item.Channel {
		return item, true, nil
	}
	if err != nil && !errors.Is(err, roster.ErrNotFound) {
		return roster.Item{}, false, err
	}
	if bare := from.Bare(); !bare.Equal(ch) {
		// A channel whose own name splits like an encoded JID, or an
		// ordinary contact.
		item, err = h.rosters.Item(ctx, user, bare)
		if err != nil {
			if errors.Is(err, roster.ErrNotFound) {
				err = nil
			}
			return roster.Item{}, false, err
		}
		return item, item.Channel, nil
	}
	return roster.Item{}, false, nil
}

// spoofed decides what becomes of presence that no joined channel sent:
// dropped when it claims to come from a channel, left to the host otherwise.
func (h *Handler) spoofed(ctx context.Context, user, from jid.JID, contact roster.Item, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	if _, _, encoded := mixjid.Split(from); !encoded || contact.JID.Equal(from.Bare()) {
		return false, nil
	}
	h.stats.spoofed.Add(1)
	h.log.DebugContext(ctx, "presence: dropped presence from a channel the user has not joined", "user", user, "from", from)
	return true, nil
}

// verdictAttempts bounds how often relay asks the BlockFilter again when the
// user's blocklist changed while it was deciding.
const verdictAttempts = 3

// relay caches available or unavailable channel presence and passes it on
// to user's (userKey as a string) MIX-capable sessions, unless the user blocks its sender: then it
// is only cached (XEP-0191 §3.3), for an unblock to show (§3.4). channel is
// the channel's bare JID as a string.
//
// The verdict must not be older than a blocklist change that
// BlocklistChanged is applying, or presence from a sender just blocked could
// be delivered after its unavailable presence: relay asks the filter again
// when the user's blocklist epoch moved meanwhile, and after verdictAttempts
// treats the sender as blocked.
func (h *Handler) relay(ctx context.Context, user jid.JID, userKey, channel string, p stanza.Presence, payload xml.TokenReader) error {
	sc := h.getScratch()
	defer h.putScratch(sc)
	sender := p.From.String()
	s, err := sc.capture(p, sender, payload)
	if err != nil {
		return fmt.Errorf("presence: reading channel presence: %w", err)
	}
	epoch := h.blockEpoch(userKey)
	for attempt := 1; ; attempt++ {
		seen := epoch.Load()
		blocked, err := h.blocked(ctx, user, p.From)
		if err != nil {
			return err
		}
		final := attempt == verdictAttempts
		if done, err := h.keep(ctx, sc, s, userKey, channel, sender, p.Type, blocked || final, epoch, seen, final); done {
			return err
		}
	}
}

// keep caches s and passes it on as relay describes, unless the user's
// blocklist epoch is no longer seen and the attempt is not final: then it
// does nothing and reports done false.
func (h *Handler) keep(ctx context.Context, sc *scratch, s splice.Stanza, user, channel, sender string, typ stanza.PresenceType, blocked bool, epoch *atomic.Uint64, seen uint64, final bool) (done bool, err error) {
	st := &h.state
	st.mu.Lock()
	if !final && epoch.Load() != seen {
		st.mu.Unlock()
		return false, nil
	}
	if blocked {
		h.stats.blocked.Add(1)
		h.log.DebugContext(ctx, "presence: kept presence from blocked peer undelivered", "user", user, "from", sender)
	}
	u := st.userFor(user, !h.discardOffline)
	if u == nil {
		st.mu.Unlock()
		return true, nil
	}
	u.refreshAnswered(channel, true)
	// The clients were shown the sender available: a blocked sender must
	// now be shown gone, as BlocklistChanged would have had this presence
	// not beaten it to the cache entry.
	e := u.cache[sender]
	hide := blocked && e != nil && !e.blocked
	var kept splice.Stanza
	evicted, missed := 0, 0
	switch {
	case typ == stanza.UnavailablePresence:
		st.remove(u, sender)
	case len(u.sessions) > 0 || !h.discardOffline:
		kept = s.Clone()
		evicted = st.put(u, u.channelFor(channel), sender, kept, blocked)
	}
	if hide {
		gone, captureErr := sc.capture(stanza.Presence{Type: stanza.UnavailablePresence}, sender, nil)
		if captureErr != nil {
			st.mu.Unlock()
			return true, captureErr
		}
		s, kept = gone, gone.Clone()
	}
	targets := sc.targets[:0]
	for _, sess := range u.sessions {
		if blocked && !hide {
			break
		}
		if sess.ready {
			targets = append(targets, sess.target)
			continue
		}
		if kept.Bytes() == nil {
			kept = s.Clone()
		}
		if sess.hold(kept, st.maxPerUser) {
			missed++
		}
	}
	st.forgetIfIdle(u)
	st.mu.Unlock()
	sc.targets = targets

	if evicted > 0 {
		h.stats.evicted.Add(uint64(evicted))
		h.log.DebugContext(ctx, "presence: evicted cached channel presence", "user", user, "entries", evicted)
	}
	h.stats.missed.Add(uint64(missed))
	err = h.sendAll(ctx, &sc.out, s, targets)
	if len(targets) > 0 && typ == stanza.AvailablePresence && epoch.Load() != seen {
		err = errors.Join(err, h.overtaken(ctx, sc, user, sender, targets))
	}
	return true, err
}

// overtaken repeats the unavailable presence of sender to targets if a
// block of sender was applied while its available presence was being
// delivered to them: BlocklistChanged may have sent its unavailable
// presence first.
func (h *Handler) overtaken(ctx context.Context, sc *scratch, user, sender string, targets []target) error {
	st := &h.state
	st.mu.Lock()
	var blocked bool
	if u := st.userFor(user, false); u != nil {
		e := u.cache[sender]
		blocked = e != nil && e.blocked
	}
	st.mu.Unlock()
	if !blocked {
		return nil
	}
	gone, err := sc.capture(stanza.Presence{Type: stanza.UnavailablePresence}, sender, nil)
	if err != nil {
		return err
	}
	return h.sendAll(ctx, &sc.out, gone, targets)
}
