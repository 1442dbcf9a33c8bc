package cluster

import (
	"context"
	"slices"
	"sync"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
)

// registry is a node's local copy of the sessions bucket, applied in the
// bucket's order by one watcher, and of the set of live nodes.
type registry struct {
	self string

	mu      sync.RWMutex
	users   map[string]*userSessions // bare JID → sessions in binding order
	applied uint64                   // the last bucket revision applied
	changed chan struct{}            // closed and replaced when applied or live changes
	dead    map[string]bool          // nodes whose heartbeat expired
	live    []string                 // nodes with a heartbeat, sorted
	// liveVer counts the changes of live; movedVer is the last of them
	// whose Config.Moved has returned (the host told the new owners).
	liveVer, movedVer uint64
}

// userSessions holds one user's sessions: res is what Resources copies, and
// meta[i] describes res[i].
type userSessions struct {
	res  []host.Resource
	meta []sessionMeta
}

type sessionMeta struct {
	key  string // key in the sessions bucket
	node string // ID of the node the session is bound on
	rev  uint64 // bucket revision of the entry
}

func newRegistry(self string) *registry {
	return &registry{
		self:    self,
		users:   make(map[string]*userSessions),
		changed: make(chan struct{}),
		dead:    make(map[string]bool),
	}
}

// appendResources appends a copy of user's sessions to dst.
func (g *registry) appendResources(dst []host.Resource, user jid.JID) []host.Resource {
	bare := user.Bare().String()
	g.mu.RLock()
	defer g.mu.RUnlock()
	if u := g.users[bare]; u != nil {
		dst = append(dst, u.res...)
	}
	return dst
}

// lookup returns the session with the given full JID.
func (g *registry) lookup(session jid.JID) (host.Resource, sessionMeta, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	u := g.users[session.Bare().String()]
	if u == nil {
		return host.Resource{}, sessionMeta{}, false
	}
	i := index(u.res, session)
	if i < 0 {
		return host.Resource{}, sessionMeta{}, false
	}
	return u.res[i], u.meta[i], true
}

// nodeOf returns the ID of the node session is bound on.
func (g *registry) nodeOf(session jid.JID) (string, bool) {
	_, m, ok := g.lookup(session)
	return m.node, ok
}

func index(list []host.Resource, session jid.JID) int {
	for i := range list {
		if list[i].JID.Equal(session) {
			return i
		}
	}
	return -1
}

// put applies a session entry at revision rev. It reports false for an
// entry of a node known dead, which the caller deletes.
func (g *registry) put(r host.Resource, m sessionMeta) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	defer g.advance(m.rev)
	if g.dead[m.node] {
		return false
	}
	bare := r.JID.Bare().String()
	u := g.users[bare]
	if u == nil {
		u = &userSessions{}
		g.users[bare] = u
	}
	if i := index(u.res, r.JID); i >= 0 {
		u.res[i], u.meta[i] = r, m
		return true
	}
	u.res = append(u.res, r)
	u.meta = append(u.meta, m)
	return true
}

// remove applies the deletion of session at revision rev.
func (g *registry) remove(session jid.JID, rev uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	defer g.advance(rev)
	g.removeLocked(session.Bare().String(), session)
}

// advanceTo records that the watcher has applied revision rev (an entry the
// registry had nothing to do with).
func (g *registry) advanceTo(rev uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.advance(rev)
}

func (g *registry) removeLocked(bare string, session jid.JID) {
	u := g.users[bare]
	if u == nil {
		return
	}
	i := index(u.res, session)
	if i < 0 {
		return
	}
	// Fresh slices: a copy handed out earlier shares nothing with these,
	// and the removed element does not linger in a backing array.
	u.res = slices.Delete(slices.Clone(u.res), i, i+1)
	u.meta = slices.Delete(slices.Clone(u.meta), i, i+1)
	if len(u.res) == 0 {
		delete(g.users, bare)
	}
}

func (g *registry) advance(rev uint64) {
	if rev > g.applied {
		g.applied = rev
		close(g.changed)
		g.changed = make(chan struct{})
	}
}

// appliedRev returns the last bucket revision applied.
func (g *registry) appliedRev() uint64 {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.applied
}

// waitApplied waits until the registry has applied revision rev.
func (g *registry) waitApplied(ctx context.Context, rev uint64) error {
	for {
		g.mu.RLock()
		applied, changed := g.applied, g.changed
		g.mu.RUnlock()
		if applied >= rev {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// purgeNode drops every session of node, which is dead, and returns their
// keys and revisions, for the caller to delete from the bucket, and their
// full JIDs.
func (g *registry) purgeNode(node string) ([]sessionMeta, []jid.JID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dead[node] = true
	if i, ok := slices.BinarySearch(g.live, node); ok {
		g.live = slices.Delete(slices.Clone(g.live), i, i+1)
		g.liveVer++
		close(g.changed)
		g.changed = make(chan struct{})
	}
	var gone []sessionMeta
	var sessions []jid.JID
	for bare, u := range g.users {
		for i := len(u.res) - 1; i >= 0; i-- {
			if u.meta[i].node == node {
				gone = append(gone, u.meta[i])
				sessions = append(sessions, u.res[i].JID)
				g.removeLocked(bare, u.res[i].JID)
			}
		}
	}
	return gone, sessions
}

// nodes returns the IDs of the nodes that have sessions in the copy.
func (g *registry) nodes() []string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	seen := map[string]bool{}
	var out []string
	for _, u := range g.users {
		for _, m := range u.meta {
			if !seen[m.node] {
				seen[m.node] = true
				out = append(out, m.node)
			}
		}
	}
	return out
}

// keysOf returns the bucket keys of node's sessions.
func (g *registry) keysOf(node string) []string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	var out []string
	for _, u := range g.users {
		for _, m := range u.meta {
			if m.node == node {
				out = append(out, m.key)
			}
		}
	}
	return out
}

// isDead reports whether node's heartbeat expired.
func (g *registry) isDead(node string) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.dead[node]
}

// alive records a heartbeat of node.
func (g *registry) alive(node string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dead[node] {
		return
	}
	if i, ok := slices.BinarySearch(g.live, node); !ok {
		g.live = slices.Insert(slices.Clone(g.live), i, node)
		g.liveVer++
		close(g.changed)
		g.changed = make(chan struct{})
	}
}

// liveVersion returns the live nodes and the version of that list.
func (g *registry) liveVersion() ([]string, uint64) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.live, g.liveVer
}

// movedThrough records that the host was told of the owner changes up to
// live version ver.
func (g *registry) movedThrough(ver uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if ver > g.movedVer {
		g.movedVer = ver
		close(g.changed)
		g.changed = make(chan struct{})
	}
}

// liveNodes returns the live nodes, sorted; the caller must not change it.
func (g *registry) liveNodes() []string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.live
}
