package pam

import (
	"context"

	"mellium.im/xmpp/jid"
)

// ChannelPresence is told of the joins and leaves a JoinHandler recorded in
// the roster, so that presence follows the roster (XEP-0405 §2.9): after a
// join, the user's MIX-capable clients that are online send their presence
// to the channel and the channel is asked for its presence again; after a
// leave, the channel's presence is forgotten. *presence.Handler implements
// it.
type ChannelPresence interface {
	// Joined is called once the channel confirmed user's join and its item
	// is in user's roster.
	Joined(ctx context.Context, user, channel jid.JID) error
	// Left is called once the channel confirmed user's leave and its item
	// is out of user's roster.
	Left(ctx context.Context, user, channel jid.JID) error
}

// notifyPresence tells the ChannelPresence, if any, of the op's confirmed
// and recorded join or leave. It runs after the client was answered, so the
// answer never waits for presence routing, and before the op's lane turn
// ends, so a later request for the same channel sees it done. Its failure
// is the presence handler's to report: the join or leave stands, and the
// client was told so.
func (h *JoinHandler) notifyPresence(ctx context.Context, op *joinOp) {
	if h.presence == nil {
		return
	}
	var err error
	if op.leave {
		err = h.presence.Left(ctx, op.user, op.channel)
	} else {
		err = h.presence.Joined(ctx, op.user, op.channel)
	}
	if err != nil {
		h.log.WarnContext(ctx, "pam: updating presence after the roster change failed", h.opAttrs(op, err)...)
	}
}
