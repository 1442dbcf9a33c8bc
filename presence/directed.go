package presence

import (
	"context"
	"errors"
	"fmt"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/internal/mixjid"
	"github.com/mixpam/mixpam/roster"
)

// Directed reports whether presence that the session from addressed to to
// (directed presence, RFC 6121 §4.6, of any type but a subscription) may be
// routed. It may not when to is a channel in the user's roster, or a JID at
// that channel (an occupant's or a participant's encoded JID), and the session is not MIX capable: "only presence
// information from clients that advertise MIX capability is sent to the MIX
// channel" (XEP-0405 §2.9), or a channel would list a client that never gets
// its traffic. A session whose capability is not known yet counts as not MIX
// capable. The host drops presence Directed refuses, without an error (RFC
// 6121 answers no presence with one).
//
// The error is the roster store's or the host Sessions'; the presence is
// then best not routed.
func (h *Handler) Directed(ctx context.Context, from, to jid.JID) (bool, error) {
	if from.Resourcepart() == "" {
		return false, errNotSession
	}
	it, err := h.rosters.Item(ctx, from.Bare(), mixjid.Channel(to))
	switch {
	case errors.Is(err, roster.ErrNotFound):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("presence: reading %s's roster: %w", from.Bare(), err)
	case !it.Channel:
		return true, nil
	}
	return h.mixCapable(ctx, from)
}
