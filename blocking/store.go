package blocking

import (
	"context"

	"mellium.im/xmpp/jid"
)

// Store keeps users' XEP-0191 blocklists. An item is a JID of any form the
// XEP allows: a bare JID, a full JID or a domain. Items are compared exactly
// by their canonical string form (jid.JID.String()): matching a sender
// against the forms that cover it is the Filter's job, not the Store's.
// Implementations must be safe for concurrent use.
type Store interface {
	// Contains reports whether user's blocklist holds exactly item. It must
	// not cost more for a long blocklist than for a short one.
	Contains(ctx context.Context, user, item jid.JID) (bool, error)
	// Items returns user's blocklist, in the order the items were added.
	Items(ctx context.Context, user jid.JID) ([]jid.JID, error)
	// Block adds items to user's blocklist, ignoring those already there,
	// and returns the items that were added.
	Block(ctx context.Context, user jid.JID, items ...jid.JID) ([]jid.JID, error)
	// Unblock removes items from user's blocklist and returns those that
	// were there. With no items it empties the blocklist and returns what it
	// held.
	Unblock(ctx context.Context, user jid.JID, items ...jid.JID) ([]jid.JID, error)
}
