package roster

import (
	"context"

	"mellium.im/xmpp/jid"
)

// Subscription is an RFC 6121 §2.1.2.5 subscription state.
type Subscription string

// Subscription states. A MIX channel item is From when the user shares
// presence with the channel and None when not (XEP-0405 §2.9, XEP-0404).
const (
	None   Subscription = "none"
	To     Subscription = "to"
	From   Subscription = "from"
	Both   Subscription = "both"
	Remove Subscription = "remove" // only in pushes and sets, never stored
)

// Item is one roster item. Channel items (Channel true) are the MIX channels
// the user has joined; the rest are ordinary contacts, kept only by hosts that
// use this package's full roster handler.
type Item struct {
	// JID is the contact's bare JID; for a channel item, the channel's.
	JID jid.JID
	// Name is the item's display name, if any.
	Name string
	// Subscription is the item's subscription state.
	Subscription Subscription
	// Ask reports a pending outbound subscription request (ask='subscribe').
	Ask bool
	// Groups are the item's roster groups.
	Groups []string
	// Channel marks a MIX channel item, which clients cannot edit directly.
	Channel bool
	// ParticipantID is the user's participant id in the channel (XEP-0369),
	// set for channel items.
	ParticipantID string
}

// Store keeps users' rosters with a version per user (XEP-0237). The version
// of a roster that was never changed is 0; every successful Put and Delete
// makes it strictly greater than any version returned before for that user.
// Users and contacts are keyed by their bare JIDs: a full JID names the same
// roster, and the same item, as its bare JID.
// Implementations must be safe for concurrent use.
type Store interface {
	// Items returns all of user's items, ordered by JID string, and the
	// current version.
	Items(ctx context.Context, user jid.JID) ([]Item, uint64, error)
	// Item returns user's item for the bare JID contact, or ErrNotFound.
	Item(ctx context.Context, user, contact jid.JID) (Item, error)
	// Put adds item or replaces the item with the same JID, and returns the
	// new version.
	Put(ctx context.Context, user jid.JID, item Item) (uint64, error)
	// Delete removes user's item for contact and returns the new version,
	// or ErrNotFound (version unchanged) when there is none.
	Delete(ctx context.Context, user, contact jid.JID) (uint64, error)
}

// ErrNotFound is returned by a Store for an item it does not have.
var ErrNotFound = constError("roster: item not found")

type constError string

func (e constError) Error() string { return string(e) }
