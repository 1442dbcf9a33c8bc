package rostertest

import (
	"context"
	"errors"
	"maps"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/internal/kit"
	"github.com/mixpam/mixpam/roster"
)

func TestMemStore(t *testing.T) {
	Run(t, func(*testing.T) roster.Store { return roster.NewMemStore() })
}

// TestKitFailsOnBrokenStores runs the kit against deliberately broken stores
// and checks that the subtests covering each defect fail.
func TestKitFailsOnBrokenStores(t *testing.T) {
	tests := []struct {
		name     string
		newStore func() roster.Store
		failing  []string
	}{
		{"lost concurrent write", func() roster.Store { return newLostWriteStore() }, []string{"ConcurrentWriters"}},
		{"version is the item count", func() roster.Store { return countVersionStore{roster.NewMemStore()} }, []string{"VersionIncreases", "ConcurrentWriters"}},
		{"delete of missing item succeeds", func() roster.Store { return lenientDeleteStore{roster.NewMemStore()} }, []string{"NewUserIsEmpty", "DeleteMissing"}},
		{"Items in reverse order", func() roster.Store { return reversedItemsStore{roster.NewMemStore()} }, []string{"ItemsOrderedByJID"}},
		{"Item keyed by the contact's JID as given", func() roster.Store { return exactItemStore{roster.NewMemStore()} }, []string{"ContactKeyedByBareJID"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			failures := kit.Record(func(t kit.T) {
				run(t, func(kit.T) roster.Store { return tc.newStore() })
			})
			failed := kit.FailedTests(failures)
			for _, f := range failures {
				t.Logf("%s: %s", f.Test, f.Message)
			}
			require.Subset(t, failed, tc.failing, "the kit must catch: %s", tc.name)
		})
	}
}

// lostWriteStore copies a user's roster, changes the copy and stores it
// back without holding its lock in between, so that concurrent writers
// overwrite each other's changes. Versions stay distinct and increasing.
type lostWriteStore struct {
	mu    sync.Mutex
	ver   uint64
	items map[string]roster.Item
}

func newLostWriteStore() *lostWriteStore {
	return &lostWriteStore{items: make(map[string]roster.Item)}
}

// The store holds a single user's roster: the tests that would notice are
// not the ones this store is meant to fail.
func (s *lostWriteStore) Items(context.Context, jid.JID) ([]roster.Item, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []roster.Item
	for _, k := range slices.Sorted(maps.Keys(s.items)) {
		it := s.items[k]
		it.Groups = slices.Clone(it.Groups)
		out = append(out, it)
	}
	return out, s.ver, nil
}

func (s *lostWriteStore) Item(_ context.Context, _, contact jid.JID) (roster.Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.items[contact.Bare().String()]; ok {
		it.Groups = slices.Clone(it.Groups)
		return it, nil
	}
	return roster.Item{}, roster.ErrNotFound
}

func (s *lostWriteStore) modify(f func(map[string]roster.Item) bool) (uint64, error) {
	s.mu.Lock()
	snapshot := maps.Clone(s.items)
	s.mu.Unlock()
	runtime.Gosched() // let another writer take the same snapshot
	if !f(snapshot) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.ver, roster.ErrNotFound
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = snapshot
	s.ver++
	return s.ver, nil
}

func (s *lostWriteStore) Put(_ context.Context, _ jid.JID, item roster.Item) (uint64, error) {
	item.JID = item.JID.Bare()
	item.Groups = slices.Clone(item.Groups)
	return s.modify(func(m map[string]roster.Item) bool {
		m[item.JID.String()] = item
		return true
	})
}

func (s *lostWriteStore) Delete(_ context.Context, _, contact jid.JID) (uint64, error) {
	return s.modify(func(m map[string]roster.Item) bool {
		k := contact.Bare().String()
		_, ok := m[k]
		delete(m, k)
		return ok
	})
}

// countVersionStore reports the number of items as the version: it does
// not change when an item is replaced and goes down on Delete.
type countVersionStore struct{ *roster.MemStore }

func (s countVersionStore) Items(ctx context.Context, user jid.JID) ([]roster.Item, uint64, error) {
	items, _, err := s.MemStore.Items(ctx, user)
	return items, uint64(len(items)), err
}

func (s countVersionStore) Put(ctx context.Context, user jid.JID, item roster.Item) (uint64, error) {
	if _, err := s.MemStore.Put(ctx, user, item); err != nil {
		return 0, err
	}
	_, v, err := s.Items(ctx, user)
	return v, err
}

func (s countVersionStore) Delete(ctx context.Context, user, contact jid.JID) (uint64, error) {
	if _, err := s.MemStore.Delete(ctx, user, contact); err != nil {
		return 0, err
	}
	_, v, err := s.Items(ctx, user)
	return v, err
}

// lenientDeleteStore reports success for the Delete of a missing item.
type lenientDeleteStore struct{ *roster.MemStore }

func (s lenientDeleteStore) Delete(ctx context.Context, user, contact jid.JID) (uint64, error) {
	v, err := s.MemStore.Delete(ctx, user, contact)
	if errors.Is(err, roster.ErrNotFound) {
		return v, nil
	}
	return v, err
}

// reversedItemsStore returns Items in reverse JID order.
type reversedItemsStore struct{ *roster.MemStore }

func (s reversedItemsStore) Items(ctx context.Context, user jid.JID) ([]roster.Item, uint64, error) {
	items, v, err := s.MemStore.Items(ctx, user)
	slices.Reverse(items)
	return items, v, err
}

// exactItemStore looks an item up by the contact's JID as given, as a store
// keyed by JID strings that forgets to take the bare JID would: a full JID
// finds nothing.
type exactItemStore struct{ *roster.MemStore }

func (s exactItemStore) Item(ctx context.Context, user, contact jid.JID) (roster.Item, error) {
	if contact.Resourcepart() != "" {
		return roster.Item{}, roster.ErrNotFound
	}
	return s.MemStore.Item(ctx, user, contact)
}
