package blocking

import (
	"context"
	"errors"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/internal/mixjid"
	"github.com/mixpam/mixpam/roster"
)

// Known reports whether peer counts as a known contact of user for
// roster-based policies ("only contacts may message me") because it belongs
// to a MIX channel the user joined: peer is the channel itself, a channel
// full JID (channel@service/pid) or an encoded participant JID
// (pid#channel@service/res), and the channel is a MIX item (Channel true) in
// user's roster. Such traffic names no roster item itself, so without this a
// "block strangers" policy drops it (XEP-0405 §2.12).
//
// Hosts call Known from their own policy code, after their own roster
// lookup: it answers false for ordinary contacts, which the host's policy
// already knows.
func Known(ctx context.Context, r roster.ItemLookup, user, peer jid.JID) (bool, error) {
	item, err := r.Item(ctx, user.Bare(), mixjid.Channel(peer))
	switch {
	case errors.Is(err, roster.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return item.Channel, nil
}
