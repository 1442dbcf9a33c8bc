package presence

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/splice"
	"github.com/mixpam/mixpam/roster"
)

// errNotSession is returned for presence whose from is not a full JID.
var errNotSession = errors.New("presence: outbound presence must come from a session's full JID")

// Outbound handles presence broadcast by one of a user's sessions (RFC 6121
// §4.2, §4.4: no to attribute, type available or unavailable); other
// presence is ignored. p.From is the session's full JID, stamped by the host;
// payload yields the stanza's children (for a host that decoded the start
// element, xmlstream.Inner of its decoder) and may be nil.
//
// When the session is MIX capable (host.Resource.MIXCapable in the host's
// Sessions), the presence goes, from the session's full JID, to the bare JID
// of every channel in the user's roster with subscription "from" (XEP-0405
// §2.9.1 Listing 13, §2.9.4 Listing 16). Presence of sessions that are not
// MIX capable never goes to channels (XEP-0405 §2.9: "only presence
// information from clients that advertise MIX capability is sent to the MIX
// channel").
//
// The first available presence the handler sees from a MIX-capable session
// is that session coming online (XEP-0405 §2.9.3): the session is sent the
// cached presence of every joined channel, and each channel the cache cannot
// answer for is refreshed with directed presence from the user's bare JID.
// The handler keeps this knowledge itself rather than reading
// host.Resource.Available, so the host may update its Sessions before or
// after calling Outbound. A session whose MIX capability becomes known only
// after its initial presence (for instance once its XEP-0115 caps are
// resolved) comes online when the host calls Outbound again with the
// session's current presence after setting the flag.
//
// The host must leave channel items (roster.Item.Channel) out of its own
// RFC 6121 presence broadcast: Outbound is their broadcast.
func (h *Handler) Outbound(ctx context.Context, p stanza.Presence, payload xml.TokenReader) error {
	defer h.lockOutbound(p.From)()
	return h.outbound(ctx, p, payload)
}

func (h *Handler) outbound(ctx context.Context, p stanza.Presence, payload xml.TokenReader) error {
	if !p.To.Equal(jid.JID{}) || p.Type != stanza.AvailablePresence && p.Type != stanza.UnavailablePresence {
		return nil
	}
	if p.From.Resourcepart() == "" {
		return errNotSession
	}
	if p.Type == stanza.UnavailablePresence {
		return h.goOffline(ctx, p, payload)
	}
	capable, err := h.mixCapable(ctx, p.From)
	if err != nil {
		return err
	}
	if !capable {
		// Presence of a session that is not MIX capable is none of the
		// channels' business; one that stopped being capable leaves them.
		return h.disconnected(ctx, p.From)
	}
	sc := h.getScratch()
	defer h.putScratch(sc)
	key := p.From.String()
	s, err := sc.capture(p, key, payload)
	if err != nil {
		return fmt.Errorf("presence: reading outbound presence: %w", err)
	}
	return h.available(ctx, sc, p.From, key, s)
}

// goOffline handles unavailable presence from a session. When its payload
// cannot be read, the channels still learn that the session went offline,
// from plain unavailable presence.
func (h *Handler) goOffline(ctx context.Context, p stanza.Presence, payload xml.TokenReader) error {
	sc := h.getScratch()
	defer h.putScratch(sc)
	s, readErr := sc.capture(p, p.From.String(), payload)
	if readErr != nil {
		readErr = fmt.Errorf("presence: reading outbound presence: %w", readErr)
		var err error
		if s, err = unavailableFrom(p.From); err != nil {
			return errors.Join(readErr, err)
		}
	}
	if !h.dropSession(ctx, p.From) {
		return readErr
	}
	return errors.Join(readErr, h.toSharing(ctx, sc, p.From.Bare(), s))
}

// Disconnected tells the handler that a session ended, with or without
// unavailable presence. If the session was online as a MIX-capable client,
// its channels get unavailable presence from its full JID (XEP-0405 §2.9.4,
// RFC 6121 §4.5.2: the server sends unavailable presence when a session ends
// without it). Calling Disconnected for a session that already sent
// unavailable presence, or was never online, does nothing.
func (h *Handler) Disconnected(ctx context.Context, session jid.JID) error {
	defer h.lockOutbound(session)()
	return h.disconnected(ctx, session)
}

func (h *Handler) disconnected(ctx context.Context, session jid.JID) error {
	if session.Resourcepart() == "" {
		return errNotSession
	}
	if !h.dropSession(ctx, session) {
		return nil
	}
	gone, err := unavailableFrom(session)
	if err != nil {
		return err
	}
	sc := h.getScratch()
	defer h.putScratch(sc)
	return h.toSharing(ctx, sc, session.Bare(), gone)
}

// available handles available presence s (in sc's buffer) of a
// MIX-capable session, from (key as a string).
//
// A session coming online is registered before the roster is read, so that
// a join confirmed meanwhile cannot miss it: either Joined finds the
// session and sends its presence to the new channel, or the roster read
// here finds the channel (or both, and the channel gets the presence
// twice). Channel presence that arrives in between is held for the session
// as while its cache is delivered, and superseded by the cache snapshot
// taken once the roster is read; the snapshot keeps what a channel joined
// meanwhile sent, although the roster read may not list the channel.
func (h *Handler) available(ctx context.Context, sc *scratch, from jid.JID, key string, s splice.Stanza) error {
	user := from.Bare()
	kept := s.Clone()
	st := &h.state
	st.mu.Lock()
	u := st.userFor(user.String(), true)
	sess := u.session(key)
	coming := sess == nil
	if coming {
		sess = u.addSession(from, key, kept)
	} else {
		sess.presence = kept
	}
	seen := st.joins
	st.mu.Unlock()

	items, _, err := h.rosters.Items(ctx, user)
	if err != nil {
		if coming {
			// Not online after all: the next presence tries again.
			st.mu.Lock()
			u.removeSession(sess)
			st.forgetIfIdle(u)
			st.mu.Unlock()
		}
		return err
	}
	var joined, sharing []jid.JID
	for _, it := range items {
		if !it.Channel {
			continue
		}
		joined = append(joined, it.JID)
		if sharesPresence(it) {
			sharing = append(sharing, it.JID)
		}
	}

	var snapshot []splice.Stanza
	var due []jid.JID
	if coming {
		now := h.now()
		st.mu.Lock()
		if st.users[u.key] != u || u.session(key) != sess {
			// The session went offline meanwhile.
			st.mu.Unlock()
			return nil
		}
		st.prune(u, joined, seen)
		sess.pending = nil // the snapshot holds what arrived meanwhile
		snapshot = u.snapshot()
		due = u.refreshesDue(joined, now, h.refreshTimeout)
		st.mu.Unlock()
	}

	err = h.toChannels(ctx, sc, user, sharing, s)
	if !coming {
		return err
	}
	h.log.DebugContext(ctx, "presence: MIX client online", "session", from, "cached", len(snapshot), "refreshing", len(due))
	return errors.Join(err,
		h.sendRefreshes(ctx, sc, user, due),
		h.catchUp(ctx, sc, sess, snapshot))
}

// dropSession forgets a session going offline and reports whether it was
// online as a MIX-capable client. When it was the user's last and
// DiscardWhileOffline is set, the user's cache goes, and with it the
// refreshes in progress: their answers will not be kept.
func (h *Handler) dropSession(ctx context.Context, from jid.JID) bool {
	st := &h.state
	st.mu.Lock()
	u := st.userFor(from.Bare().String(), false)
	var sess *session
	if u != nil {
		sess = u.session(from.String())
	}
	if sess == nil {
		st.mu.Unlock()
		return false
	}
	u.removeSession(sess)
	discarded := 0
	if len(u.sessions) == 0 && h.discardOffline {
		discarded = st.discard(u)
	}
	st.forgetIfIdle(u)
	st.mu.Unlock()
	h.stats.discarded.Add(uint64(discarded))
	h.log.DebugContext(ctx, "presence: MIX client offline", "session", from, "discarded", discarded)
	return true
}

// toSharing sends s to every channel in user's roster that the user shares
// presence with.
func (h *Handler) toSharing(ctx context.Context, sc *scratch, user jid.JID, s splice.Stanza) error {
	items, _, err := h.rosters.Items(ctx, user)
	if err != nil {
		return err
	}
	var sharing []jid.JID
	for _, it := range items {
		if sharesPresence(it) {
			sharing = append(sharing, it.JID)
		}
	}
	return h.toChannels(ctx, sc, user, sharing, s)
}

// toChannels sends s to each channel that user has not blocked.
func (h *Handler) toChannels(ctx context.Context, sc *scratch, user jid.JID, channels []jid.JID, s splice.Stanza) error {
	targets, err := h.unblocked(ctx, sc.targets[:0], user, channels)
	sc.targets = targets
	return errors.Join(err, h.sendAll(ctx, &sc.out, s, targets))
}

// catchUp delivers the cached presence of the user's channels to a session
// coming online, then the channel presence that arrived meanwhile, until
// nothing is left: from then on the session gets channel presence directly.
func (h *Handler) catchUp(ctx context.Context, sc *scratch, sess *session, batch []splice.Stanza) error {
	var errs []error
	to := []target{sess.target}
	for {
		for _, s := range batch {
			if err := h.sendAll(ctx, &sc.out, s, to); err != nil {
				errs = append(errs, err)
			}
		}
		h.state.mu.Lock()
		batch, sess.pending = sess.pending, nil
		done := len(batch) == 0 || ctx.Err() != nil
		if done {
			sess.ready = true
		}
		h.state.mu.Unlock()
		if done {
			h.stats.missed.Add(uint64(len(batch)))
			return errors.Join(append(errs, ctx.Err())...)
		}
	}
}

// mixCapable reports whether the host knows session as MIX capable.
func (h *Handler) mixCapable(ctx context.Context, session jid.JID) (bool, error) {
	resources, err := h.sessions.Resources(ctx, session.Bare())
	if err != nil {
		return false, err
	}
	for _, r := range resources {
		if r.JID.Equal(session) {
			return r.MIXCapable, nil
		}
	}
	return false, nil
}

// sharesPresence reports whether it is a channel the user shares presence
// with: a channel item with a subscription that includes "from" (XEP-0405
// §2.9: "one way presence"; "none" when the user does not share).
func sharesPresence(it roster.Item) bool {
	return it.Channel && (it.Subscription == roster.From || it.Subscription == roster.Both)
}

// unavailableFrom renders <presence type="unavailable" from="j"/>.
func unavailableFrom(j jid.JID) (splice.Stanza, error) {
	return splice.Capture(nil, stanza.Presence{From: j, Type: stanza.UnavailablePresence}.Wrap(nil))
}
