package blocking

import (
	"context"

	"mellium.im/xmpp/jid"
)

// StoreChecker returns a Checker that applies the XEP-0191 §6 "JID Matching"
// rules to the blocklists in s: peer is blocked when the list holds, in this
// order, peer's full JID (user@domain/resource), its bare JID
// (user@domain), domain/resource, or its domain. Each rule is one
// Store.Contains lookup, so the cost does not grow with the blocklist.
// StoreChecker of a nil s is nil, which NewFilter refuses.
func StoreChecker(s Store) Checker {
	if s == nil {
		return nil
	}
	return storeChecker{store: s}
}

type storeChecker struct {
	store Store
}

func (c storeChecker) Blocks(ctx context.Context, user, peer jid.JID) (bool, error) {
	var buf [4]jid.JID
	for _, item := range matchingItems(peer, &buf) {
		blocked, err := c.store.Contains(ctx, user, item)
		if blocked || err != nil {
			return blocked, err
		}
	}
	return false, nil
}

// matchingItems returns, in buf, the blocklist items that match j under
// XEP-0191 §6, most specific first, without duplicates.
func matchingItems(j jid.JID, buf *[4]jid.JID) []jid.JID {
	items := append(buf[:0], j)
	if j.Localpart() != "" && j.Resourcepart() != "" {
		items = append(items, j.Bare())
		// Dropping the localpart of a valid JID cannot fail.
		if domainResource, err := j.WithLocal(""); err == nil {
			items = append(items, domainResource)
		}
	}
	if j.Localpart() != "" || j.Resourcepart() != "" {
		items = append(items, j.Domain())
	}
	return items
}
