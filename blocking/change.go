package blocking

import (
	"context"
	"errors"

	"mellium.im/xmpp/jid"
)

// Change is one change of a user's blocklist that took effect: the items a
// block command added, or the items an unblock command removed (all the
// items the list held, for unblock all).
type Change struct {
	// User is the bare JID whose blocklist changed.
	User jid.JID
	// Unblock is false for items added (XEP-0191 §3.3), true for items
	// removed (§3.4, §3.5).
	Unblock bool
	// Items are the items added or removed.
	Items []jid.JID
}

// Affects reports whether peer is one of the JIDs the change is about: an
// item of the change matches peer by the rules of Filter (XEP-0191 §6, made
// MIX-aware by XEP-0405 §2.12), so that blocking a channel affects all its
// participants' encoded JIDs and blocking one participant affects only
// that participant. Whether peer is still blocked after an unblock (by
// another item) is for the current blocklist to say, through the host's
// Filter.
func (c Change) Affects(peer Peer) bool {
	// A Filter over the change's items alone: it cannot fail.
	blocked, _ := (&Filter{check: itemsChecker(c.Items)}).Blocked(context.Background(), c.User, peer)
	return blocked
}

// itemsChecker is a Checker over one fixed list of items, whoever the user.
type itemsChecker []jid.JID

func (items itemsChecker) Blocks(_ context.Context, _, peer jid.JID) (bool, error) {
	var buf [4]jid.JID
	for _, m := range matchingItems(peer, &buf) {
		for _, it := range items {
			if it.Equal(m) {
				return true, nil
			}
		}
	}
	return false, nil
}

// PresenceUpdater makes presence follow a blocklist (XEP-0191 §3.3, §3.4):
// a block sends unavailable presence where the user's presence went (to the
// blocked JIDs allowed to receive it) and, from the blocked JIDs, to the
// user's resources that had their presence, so that each side sees the
// other offline; an unblock sends the current presence both ways again. The
// Handler calls it after each change that took effect
// (HandlerConfig.Presence); the host implements it with its presence
// engine, and presence.Handler does it for channel presence.
type PresenceUpdater interface {
	// BlocklistChanged is called once the change is stored and pushed,
	// before the command is answered, with the user's other blocking
	// commands waiting. An error is logged and does not fail the command.
	BlocklistChanged(ctx context.Context, c Change) error
}

// PresenceUpdaters calls each of its updaters in turn.
type PresenceUpdaters []PresenceUpdater

// BlocklistChanged implements PresenceUpdater: it calls every updater, and
// returns their errors joined.
func (us PresenceUpdaters) BlocklistChanged(ctx context.Context, c Change) error {
	var errs []error
	for _, u := range us {
		errs = append(errs, u.BlocklistChanged(ctx, c))
	}
	return errors.Join(errs...)
}
