package host

import (
	"context"
	"slices"
	"sync"

	"mellium.im/xmpp/jid"
)

// MemSessions is an in-memory Sessions and FlagSetter. Resources hands
// every caller a copy of the user's list, which the caller owns: nothing a
// caller does with it reaches the registry (docs/performance.md measures
// the copy against the groupchat fan-out). The host calls Add
// when a session binds a resource, Remove when it ends, and SetPresence when
// it sends available or unavailable presence. It is safe for concurrent use;
// the zero value is not usable: call NewMemSessions.
type MemSessions struct {
	mu    sync.RWMutex
	users map[string][]Resource // bare JID → resources in binding order
}

// NewMemSessions returns an empty registry.
func NewMemSessions() *MemSessions {
	return &MemSessions{users: make(map[string][]Resource)}
}

// Add registers an online session, replacing any session with the same full
// JID.
func (m *MemSessions) Add(r Resource) {
	m.mu.Lock()
	defer m.mu.Unlock()
	bare := r.JID.Bare().String()
	list := m.users[bare]
	if i := m.index(list, r.JID); i >= 0 {
		list[i] = r
		return
	}
	m.users[bare] = append(list, r)
}

// Remove unregisters the session with the given full JID and reports whether
// it was online. Sessions are known by full JID only: when a new session
// took over an old one's resource (Add with the same JID replaces the
// entry), the old session's teardown must not call Remove, or it removes
// the new one.
func (m *MemSessions) Remove(session jid.JID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	bare := session.Bare().String()
	list := m.users[bare]
	i := m.index(list, session)
	if i < 0 {
		return false
	}
	list = slices.Delete(list, i, i+1)
	if len(list) == 0 {
		delete(m.users, bare)
	} else {
		m.users[bare] = list
	}
	return true
}

// Resources implements Sessions. It returns a copy of the user's list.
func (m *MemSessions) Resources(ctx context.Context, user jid.JID) ([]Resource, error) {
	return m.AppendResources(ctx, nil, user)
}

// AppendResources implements ResourceAppender: it appends a copy of the
// user's list to dst.
func (m *MemSessions) AppendResources(_ context.Context, dst []Resource, user jid.JID) ([]Resource, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return append(dst, m.users[user.Bare().String()]...), nil
}

// Resource returns the session with the given full JID.
func (m *MemSessions) Resource(session jid.JID) (Resource, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	list := m.users[session.Bare().String()]
	if i := m.index(list, session); i >= 0 {
		return list[i], true
	}
	return Resource{}, false
}

// SetMIXCapable implements FlagSetter.
func (m *MemSessions) SetMIXCapable(_ context.Context, session jid.JID, capable bool) error {
	return m.update(session, func(r *Resource) { r.MIXCapable = capable })
}

// SetAnnotate implements FlagSetter: it sets Annotate, and Interested.
func (m *MemSessions) SetAnnotate(_ context.Context, session jid.JID, annotate bool) error {
	return m.update(session, func(r *Resource) { r.Annotate, r.Interested = annotate, true })
}

// SetBlocklistRequested implements FlagSetter: it sets BlocklistRequested.
func (m *MemSessions) SetBlocklistRequested(_ context.Context, session jid.JID) error {
	return m.update(session, func(r *Resource) { r.BlocklistRequested = true })
}

// SetPresence records a session's broadcast presence: available with the
// given priority, or unavailable.
func (m *MemSessions) SetPresence(session jid.JID, available bool, priority int8) error {
	return m.update(session, func(r *Resource) {
		r.Available = available
		r.Priority = priority
	})
}

func (m *MemSessions) update(session jid.JID, f func(*Resource)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	bare := session.Bare().String()
	list := m.users[bare]
	i := m.index(list, session)
	if i < 0 {
		return ErrNoSession
	}
	f(&list[i])
	return nil
}

func (m *MemSessions) index(list []Resource, session jid.JID) int {
	want := session.String()
	for i := range list {
		if list[i].JID.String() == want {
			return i
		}
	}
	return -1
}
