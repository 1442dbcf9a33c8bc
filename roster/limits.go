package roster

import (
	"context"
	"errors"
	"fmt"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/rawstanza"
)

// Defaults for Limits.
const (
	// DefaultMaxItems is the number of items a roster may hold by default,
	// channel items included.
	DefaultMaxItems = 1000
	// DefaultMaxItemBytes is the largest item by default, as ItemBytes
	// measures it: room for a long JID and name and a dozen groups.
	DefaultMaxItemBytes = 4096
)

// Limits bound what one user's roster may hold, so that neither the store
// nor the answer to a roster get can be made to grow without bound. They
// apply when an item is written (roster set, SetSubscription, AddChannel);
// items already stored are kept and served. With them, the answer to a
// roster get is at most
//
//	MaxItems × MaxItemBytes + 6×len(id) + 2×3071×6 + 200
//
// bytes: the items, plus the IQ envelope (the request's id, the two JIDs
// escaped, tags and version).
type Limits struct {
	// MaxItems is the most items a roster may hold; a write that would add
	// one more is refused. Zero means DefaultMaxItems.
	MaxItems int
	// MaxItemBytes is the largest item, in bytes as ItemBytes measures it;
	// a write of a larger one is refused. Zero means DefaultMaxItemBytes.
	MaxItemBytes int
}

// withDefaults returns l with zero fields set to their defaults.
func (l Limits) withDefaults() Limits {
	if l.MaxItems <= 0 {
		l.MaxItems = DefaultMaxItems
	}
	if l.MaxItemBytes <= 0 {
		l.MaxItemBytes = DefaultMaxItemBytes
	}
	return l
}

// Errors of writes the Limits refuse, returned (wrapped) by AddChannel and
// SetSubscription.
const (
	// ErrRosterFull is returned for a new item in a roster that holds
	// Limits.MaxItems items already.
	ErrRosterFull = constError("roster: the roster is full")
	// ErrItemTooLarge is returned for an item larger than
	// Limits.MaxItemBytes.
	ErrItemTooLarge = constError("roster: the item is too large")
)

// ItemBytes returns the size of it in a roster result in the worst case:
// rendered by AppendItem, annotated, with a pending subscription request.
func ItemBytes(it Item) int {
	it.Ask = true
	if it.Subscription == "" || it.Subscription == Remove {
		it.Subscription = None
	}
	return len(AppendItem(nil, it, true))
}

// checkWrite reports whether it may be written to user's roster, found
// telling whether an item with its JID is there already. The user's lock
// must be held.
func (h *Handler) checkWrite(ctx context.Context, user jid.JID, it Item, found bool) error {
	if n := ItemBytes(it); n > h.limits.MaxItemBytes {
		return &limitErr{ErrItemTooLarge, fmt.Sprintf("the item takes %d bytes, more than the %d allowed", n, h.limits.MaxItemBytes)}
	}
	if found {
		return nil
	}
	n, err := h.count(ctx, user)
	if err != nil {
		return fmt.Errorf("roster: counting %s's items: %w", user, err)
	}
	if n >= h.limits.MaxItems {
		return &limitErr{ErrRosterFull, fmt.Sprintf("the roster holds at most %d item(s)", h.limits.MaxItems)}
	}
	return nil
}

// Counter is a Store that counts a user's items without reading them. The
// Handler checks Limits.MaxItems with it when its Store has it, and reads
// the whole roster otherwise. MemStore is a Counter.
type Counter interface {
	// Count returns the number of user's items.
	Count(ctx context.Context, user jid.JID) (int, error)
}

// count returns the number of user's items.
func (h *Handler) count(ctx context.Context, user jid.JID) (int, error) {
	if c, ok := h.store.(Counter); ok {
		return c.Count(ctx, user)
	}
	items, _, err := h.store.Items(ctx, user)
	return len(items), err
}

// limitErr is a write the Limits refuse: kind is ErrRosterFull or
// ErrItemTooLarge, text says why to the client.
type limitErr struct {
	kind error
	text string
}

func (e *limitErr) Error() string { return e.kind.Error() + ": " + e.text }
func (e *limitErr) Unwrap() error { return e.kind }

// limitError returns the stanza error answering a roster set that err, from
// checkWrite, refused, or false when err is not a limit's.
func limitError(err error) (stanza.Error, bool) {
	var le *limitErr
	switch {
	case !errors.As(err, &le):
		return stanza.Error{}, false
	case le.kind == ErrItemTooLarge:
		// RFC 6121 §2.3.3: values beyond a server-configured limit.
		return notAcceptable(le.text), true
	default:
		// RFC 6121 names no condition for a full roster: the quota is
		// a local service policy (RFC 6120 §8.3.3.12).
		return rawstanza.Error(stanza.Cancel, stanza.PolicyViolation, le.text), true
	}
}
