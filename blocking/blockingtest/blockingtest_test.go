package blockingtest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/internal/kit"
)

func TestMemStore(t *testing.T) {
	Run(t, func(*testing.T) blocking.Store { return blocking.NewMemStore() })
}

// TestKitFailsOnBrokenStores runs the kit against deliberately broken stores
// and checks that the subtests covering each defect fail.
func TestKitFailsOnBrokenStores(t *testing.T) {
	tests := []struct {
		name     string
		newStore func() blocking.Store
		failing  []string
	}{
		{"Contains matches the bare JID of a full JID", func() blocking.Store { return bareMatchStore{blocking.NewMemStore()} }, []string{"ContainsExactMatch"}},
		{"Block returns every item given", func() blocking.Store { return blockReturnsAllStore{blocking.NewMemStore()} }, []string{"BlockReturnsAdded", "ConcurrentBlock"}},
		{"Items sorted", func() blocking.Store { return sortedItemsStore{blocking.NewMemStore()} }, []string{"ItemsInOrderAdded"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			failures := kit.Record(func(t kit.T) {
				run(t, func(kit.T) blocking.Store { return tc.newStore() })
			})
			for _, f := range failures {
				t.Logf("%s: %s", f.Test, f.Message)
			}
			require.Subset(t, kit.FailedTests(failures), tc.failing, "the kit must catch: %s", tc.name)
		})
	}
}

// bareMatchStore also reports a full JID blocked when its bare JID is.
type bareMatchStore struct{ *blocking.MemStore }

func (s bareMatchStore) Contains(ctx context.Context, user, item jid.JID) (bool, error) {
	if ok, err := s.MemStore.Contains(ctx, user, item); ok || err != nil {
		return ok, err
	}
	return s.MemStore.Contains(ctx, user, item.Bare())
}

// blockReturnsAllStore returns all the items given to Block, also those
// that were already blocked.
type blockReturnsAllStore struct{ *blocking.MemStore }

func (s blockReturnsAllStore) Block(ctx context.Context, user jid.JID, items ...jid.JID) ([]jid.JID, error) {
	_, err := s.MemStore.Block(ctx, user, items...)
	return items, err
}

// sortedItemsStore returns Items sorted by JID instead of in the order added.
type sortedItemsStore struct{ *blocking.MemStore }

func (s sortedItemsStore) Items(ctx context.Context, user jid.JID) ([]jid.JID, error) {
	items, err := s.MemStore.Items(ctx, user)
	slices.SortFunc(items, func(a, b jid.JID) int { return strings.Compare(a.String(), b.String()) })
	return items, err
}
