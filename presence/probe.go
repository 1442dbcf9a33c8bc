package presence

import (
	"context"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/internal/splice"
	"github.com/mixpam/mixpam/roster"
)

// answerProbe answers a presence probe from a joined channel (XEP-0403 §5
// "Presence Initialization": the channel's server probes each participant
// "following the presence probe process specified in RFC 6121") with the
// last available presence of each of the user's MIX-capable sessions, from
// its full JID, or with unavailable presence from the user's bare JID when
// none is online (RFC 6121 §4.3.2). Sessions that are not MIX capable are
// never revealed (XEP-0405 §2.9). A channel the user does not share presence
// with gets no answer.
func (h *Handler) answerProbe(ctx context.Context, user jid.JID, item roster.Item, prober jid.JID) error {
	if !sharesPresence(item) {
		h.log.DebugContext(ctx, "presence: probe from a channel the user does not share presence with", "user", user, "from", prober)
		return nil
	}
	var answers []splice.Stanza
	h.state.mu.Lock()
	if u := h.state.userFor(user.String(), false); u != nil {
		for _, sess := range u.sessions {
			answers = append(answers, sess.presence)
		}
	}
	h.state.mu.Unlock()
	if len(answers) == 0 {
		gone, err := unavailableFrom(user)
		if err != nil {
			return err
		}
		answers = append(answers, gone)
	}
	sc := h.getScratch()
	defer h.putScratch(sc)
	sc.targets = append(sc.targets[:0], target{jid: prober, key: prober.String()})
	for _, s := range answers {
		if err := h.sendAll(ctx, &sc.out, s, sc.targets); err != nil {
			return err
		}
	}
	return nil
}
