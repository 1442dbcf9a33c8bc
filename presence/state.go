package presence

import (
	"slices"
	"sync"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/internal/splice"
)

// state is everything a Handler remembers, guarded by one mutex that is
// never held while calling the host (roster, sessions, router), so that a
// router may call back into the Handler synchronously.
type state struct {
	mu         sync.Mutex
	maxPerUser int
	maxEntries int
	users      map[string]*user // by bare JID
	lru        entryList        // every cached entry, least recently updated first
	entries    int
	// joins counts Joined calls: a roster read older than a channel's
	// joinedAt may not list the channel yet (see prune).
	joins uint64
}

// user is one user's state.
type user struct {
	key      string     // bare JID
	sessions []*session // MIX-capable sessions that are online, in order of arrival
	cache    map[string]*entry
	channels map[string]*channel // by the channel's bare JID
	lru      entryList           // this user's entries, least recently updated first
}

// session is a MIX-capable session that sent available presence: it gets
// channel presence and its presence goes to the channels.
type session struct {
	target
	// presence is the session's last available broadcast presence, with no
	// to attribute: what a probe gets (XEP-0405 §2.9.1).
	presence splice.Stanza
	// ready is false while the cache is being delivered to the session;
	// channel presence arriving meanwhile waits in pending so that it
	// reaches the session after the cached presence it supersedes.
	ready   bool
	pending []splice.Stanza
}

// channel is what a user's state knows about one joined channel.
type channel struct {
	key     string // the channel's bare JID
	entries int    // cached entries from this channel
	// synced records that the cache holds the channel's full presence: the
	// channel answered a refresh, and no entry of it was evicted since.
	synced bool
	// refreshUntil is when the refresh in progress is given up; zero when
	// none is in progress.
	refreshUntil time.Time
	// joinedAt is state.joins after the last Joined for the channel.
	joinedAt uint64
}

// userFor returns the state of user key, creating it when create is set;
// nil when it does not exist and create is not set.
func (st *state) userFor(key string, create bool) *user {
	u := st.users[key]
	if u == nil && create {
		u = &user{
			key:      key,
			cache:    make(map[string]*entry),
			channels: make(map[string]*channel),
			lru:      entryList{order: userEntries},
		}
		st.users[key] = u
	}
	return u
}

// forgetIfIdle drops u's state when it holds nothing.
func (st *state) forgetIfIdle(u *user) {
	if len(u.sessions) == 0 && len(u.cache) == 0 && len(u.channels) == 0 {
		delete(st.users, u.key)
	}
}

// channelFor returns u's record of channel key, creating it when needed.
func (u *user) channelFor(key string) *channel {
	c := u.channels[key]
	if c == nil {
		c = &channel{key: key}
		u.channels[key] = c
	}
	return c
}

// forgetChannelIfIdle drops c from u when it records nothing.
func (u *user) forgetChannelIfIdle(c *channel) {
	if c.entries == 0 && !c.synced && c.refreshUntil.IsZero() {
		delete(u.channels, c.key)
	}
}

// session returns u's online session with the given full JID, or nil.
func (u *user) session(key string) *session {
	for _, s := range u.sessions {
		if s.key == key {
			return s
		}
	}
	return nil
}

// addSession registers a session coming online; it is not ready until its
// cached presence has been delivered.
func (u *user) addSession(j jid.JID, key string, presence splice.Stanza) *session {
	s := &session{target: sessionTarget(j, key), presence: presence}
	u.sessions = append(u.sessions, s)
	return s
}

// removeSession unregisters a session going offline.
func (u *user) removeSession(s *session) {
	u.sessions = slices.DeleteFunc(u.sessions, func(t *session) bool { return t == s })
	s.pending = nil
}

// hold queues channel presence for a session that is not ready yet, keeping
// at most limit stanzas (the oldest go first), and reports whether one was
// dropped.
func (s *session) hold(p splice.Stanza, limit int) bool {
	dropped := len(s.pending) >= limit
	if dropped {
		s.pending = slices.Delete(s.pending, 0, 1)
	}
	s.pending = append(s.pending, p)
	return dropped
}

// deliverAfterCache appends to dst the sessions of u that are ready, to
// which the caller sends stanzas now, and holds stanzas for those still
// being sent the cache, which may hold what the stanzas supersede: they
// follow it. It returns dst and the number of held stanzas dropped past
// limit. The caller holds state.mu.
func (u *user) deliverAfterCache(dst []target, stanzas []splice.Stanza, limit int) ([]target, int) {
	missed := 0
	for _, sess := range u.sessions {
		if sess.ready {
			dst = append(dst, sess.target)
			continue
		}
		for _, s := range stanzas {
			if sess.hold(s, limit) {
				missed++
			}
		}
	}
	return dst, missed
}
