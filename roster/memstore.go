package roster

import (
	"context"
	"maps"
	"slices"
	"sync"

	"mellium.im/xmpp/jid"
)

// MemStore is an in-memory Store, safe for concurrent use. The zero value is
// not usable: call NewMemStore.
type MemStore struct {
	mu    sync.RWMutex
	users map[string]*memRoster
}

type memRoster struct {
	ver   uint64
	items map[string]Item
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{users: make(map[string]*memRoster)}
}

// Items implements Store.
func (s *MemStore) Items(_ context.Context, user jid.JID) ([]Item, uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.users[user.Bare().String()]
	if r == nil {
		return nil, 0, nil
	}
	// The keys are the items' JID strings: sorting them sorts the items
	// without building a string per comparison.
	keys := slices.Sorted(maps.Keys(r.items))
	items := make([]Item, 0, len(keys))
	for _, k := range keys {
		items = append(items, cloneItem(r.items[k]))
	}
	return items, r.ver, nil
}

// Count implements Counter.
func (s *MemStore) Count(_ context.Context, user jid.JID) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if r := s.users[user.Bare().String()]; r != nil {
		return len(r.items), nil
	}
	return 0, nil
}

// Item implements Store.
func (s *MemStore) Item(_ context.Context, user, contact jid.JID) (Item, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if r := s.users[user.Bare().String()]; r != nil {
		if it, ok := r.items[contact.Bare().String()]; ok {
			return cloneItem(it), nil
		}
	}
	return Item{}, ErrNotFound
}

// Put implements Store.
func (s *MemStore) Put(_ context.Context, user jid.JID, item Item) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := user.Bare().String()
	r := s.users[key]
	if r == nil {
		r = &memRoster{items: make(map[string]Item)}
		s.users[key] = r
	}
	item = cloneItem(item)
	item.JID = item.JID.Bare()
	r.items[item.JID.String()] = item
	r.ver++
	return r.ver, nil
}

// Delete implements Store.
func (s *MemStore) Delete(_ context.Context, user, contact jid.JID) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.users[user.Bare().String()]
	if r == nil {
		return 0, ErrNotFound
	}
	key := contact.Bare().String()
	if _, ok := r.items[key]; !ok {
		return r.ver, ErrNotFound
	}
	delete(r.items, key)
	r.ver++
	return r.ver, nil
}

func cloneItem(it Item) Item {
	it.Groups = slices.Clone(it.Groups)
	return it
}
