package blocking

import (
	"context"
	"slices"
	"sync"

	"mellium.im/xmpp/jid"
)

// MemStore is an in-memory Store, safe for concurrent use. The zero value is
// not usable: call NewMemStore.
type MemStore struct {
	mu    sync.RWMutex
	users map[string]*memList
}

type memList struct {
	order []jid.JID
	set   map[string]struct{}
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{users: make(map[string]*memList)}
}

// Contains implements Store.
func (s *MemStore) Contains(_ context.Context, user, item jid.JID) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l := s.users[user.Bare().String()]
	if l == nil {
		return false, nil
	}
	_, ok := l.set[item.String()]
	return ok, nil
}

// Count implements Counter.
func (s *MemStore) Count(_ context.Context, user jid.JID) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if l := s.users[user.Bare().String()]; l != nil {
		return len(l.order), nil
	}
	return 0, nil
}

// Items implements Store.
func (s *MemStore) Items(_ context.Context, user jid.JID) ([]jid.JID, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if l := s.users[user.Bare().String()]; l != nil {
		return slices.Clone(l.order), nil
	}
	return nil, nil
}

// Block implements Store.
func (s *MemStore) Block(_ context.Context, user jid.JID, items ...jid.JID) ([]jid.JID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := user.Bare().String()
	l := s.users[key]
	if l == nil {
		l = &memList{set: make(map[string]struct{})}
		s.users[key] = l
	}
	var added []jid.JID
	for _, it := range items {
		k := it.String()
		if _, ok := l.set[k]; ok {
			continue
		}
		l.set[k] = struct{}{}
		l.order = append(l.order, it)
		added = append(added, it)
	}
	return added, nil
}

// Unblock implements Store.
func (s *MemStore) Unblock(_ context.Context, user jid.JID, items ...jid.JID) ([]jid.JID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := user.Bare().String()
	l := s.users[key]
	if l == nil {
		return nil, nil
	}
	if len(items) == 0 {
		delete(s.users, key)
		return l.order, nil
	}
	var removed []jid.JID
	for _, it := range items {
		k := it.String()
		if _, ok := l.set[k]; !ok {
			continue
		}
		delete(l.set, k)
		removed = append(removed, it)
		l.order = slices.DeleteFunc(l.order, func(j jid.JID) bool { return j.String() == k })
	}
	if len(l.order) == 0 {
		delete(s.users, key)
	}
	return removed, nil
}
