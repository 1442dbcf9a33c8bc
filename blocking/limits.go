package blocking

import (
	"context"
	"fmt"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/xmlenc"
)

// Defaults for Limits.
const (
	// DefaultMaxItems is the number of JIDs a blocklist may hold by default.
	DefaultMaxItems = 1000
	// DefaultMaxItemBytes is the largest item by default, as ItemBytes
	// measures it: any JID of up to about a thousand bytes.
	DefaultMaxItemBytes = 1024
)

// Limits bound one user's blocklist, so that neither the store nor the
// answer to a blocklist retrieval can be made to grow without bound. They
// apply to block commands; items already stored are kept and served. With
// them, the answer to a retrieval (XEP-0191 §3.2) is at most
//
//	MaxItems × MaxItemBytes + 6×len(id) + 2×3071×6 + 200
//
// bytes: the items, plus the IQ envelope (the request's id, the two JIDs
// escaped, the tags).
type Limits struct {
	// MaxItems is the most JIDs a blocklist may hold: a block command that
	// would add more is refused as a whole. Zero means DefaultMaxItems.
	MaxItems int
	// MaxItemBytes is the largest item, in bytes as ItemBytes measures it:
	// a block command with a larger one is refused as a whole. Zero means
	// DefaultMaxItemBytes.
	MaxItemBytes int
}

func (l Limits) withDefaults() Limits {
	if l.MaxItems <= 0 {
		l.MaxItems = DefaultMaxItems
	}
	if l.MaxItemBytes <= 0 {
		l.MaxItemBytes = DefaultMaxItemBytes
	}
	return l
}

// ItemBytes returns the size of the <item/> for j in a blocklist.
func ItemBytes(j jid.JID) int {
	b := append([]byte(`<item jid="`), `"/>`...)
	return len(xmlenc.AppendEscaped(b, j.String(), true))
}

// checkBlock returns the stanza error refusing a block of items for user,
// whose lock the caller holds, or nil when the Limits allow it. XEP-0191
// names no error for a full blocklist: a quota is a local service policy
// (RFC 6120 §8.3.3.12); an item too large is not-acceptable, as RFC 6121
// §2.3.3 has it for roster values beyond a server-configured limit.
func (h *Handler) checkBlock(ctx context.Context, user jid.JID, items []jid.JID) (*stanza.Error, error) {
	for _, j := range items {
		if n := ItemBytes(j); n > h.limits.MaxItemBytes {
			return refusal(stanza.Modify, stanza.NotAcceptable, fmt.Sprintf("an item takes %d bytes, more than the %d allowed", n, h.limits.MaxItemBytes)), nil
		}
	}
	held, err := h.count(ctx, user)
	if err != nil {
		return nil, err
	}
	added := make(map[string]struct{}, len(items))
	for _, j := range items {
		if _, again := added[j.String()]; again {
			continue
		}
		there, err := h.store.Contains(ctx, user, j)
		if err != nil {
			return nil, err
		}
		if !there {
			added[j.String()] = struct{}{}
		}
	}
	if held+len(added) <= h.limits.MaxItems {
		return nil, nil
	}
	return refusal(stanza.Cancel, stanza.PolicyViolation, fmt.Sprintf("a blocklist holds at most %d items", h.limits.MaxItems)), nil
}

// Counter is a Store that counts a user's blocklist without reading it. The
// Handler checks Limits.MaxItems with it when its Store has it, and reads
// the blocklist otherwise. MemStore is a Counter.
type Counter interface {
	// Count returns the number of items in user's blocklist.
	Count(ctx context.Context, user jid.JID) (int, error)
}

// count returns the number of items in user's blocklist.
func (h *Handler) count(ctx context.Context, user jid.JID) (int, error) {
	if c, ok := h.store.(Counter); ok {
		return c.Count(ctx, user)
	}
	items, err := h.store.Items(ctx, user)
	return len(items), err
}
