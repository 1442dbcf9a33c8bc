package presence

import (
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/internal/splice"
)

// The channel presence cache (XEP-0405 §2.9.2): for each user, the last
// available presence of every sender (participant#channel@service/resource,
// or the channel itself) of every joined channel, rendered once without a to
// attribute so that it can be spliced for each client. Every entry is on two
// lists, its user's and everyone's, least recently updated first: eviction
// takes the front of the list whose bound would be exceeded. The caller holds
// state.mu.

// entry is one cached presence.
type entry struct {
	user    *user
	channel *channel
	sender  string // full JID the presence came from
	stanza  splice.Stanza
	// blocked records that the user blocks the sender (XEP-0191): the
	// presence is kept, so that an unblock can show it (§3.4), but not
	// delivered.
	blocked bool
	links   [2]links // indexed by listOrder
}

type links struct{ prev, next *entry }

// listOrder says which of an entry's links a list threads.
type listOrder int

const (
	allEntries listOrder = iota
	userEntries
)

// entryList is a doubly linked list of entries, threaded through one of
// their links.
type entryList struct {
	order      listOrder
	head, tail *entry
}

func (l *entryList) pushBack(e *entry) {
	ln := &e.links[l.order]
	ln.prev, ln.next = l.tail, nil
	if l.tail != nil {
		l.tail.links[l.order].next = e
	} else {
		l.head = e
	}
	l.tail = e
}

func (l *entryList) remove(e *entry) {
	ln := &e.links[l.order]
	if ln.prev != nil {
		ln.prev.links[l.order].next = ln.next
	} else {
		l.head = ln.next
	}
	if ln.next != nil {
		ln.next.links[l.order].prev = ln.prev
	} else {
		l.tail = ln.prev
	}
	ln.prev, ln.next = nil, nil
}

func (l *entryList) moveToBack(e *entry) {
	if l.tail != e {
		l.remove(e)
		l.pushBack(e)
	}
}

// put caches s, owned by the cache from now on, as the presence of sender in
// channel c of u, replacing the sender's previous presence, and evicts the
// least recently updated entries beyond the bounds. blocked says whether the
// user blocks the sender. It returns the number of entries evicted.
func (st *state) put(u *user, c *channel, sender string, s splice.Stanza, blocked bool) int {
	if e := u.cache[sender]; e != nil {
		e.stanza, e.blocked = s, blocked
		u.lru.moveToBack(e)
		st.lru.moveToBack(e)
		return 0
	}
	e := &entry{user: u, channel: c, sender: sender, stanza: s, blocked: blocked}
	u.cache[sender] = e
	u.lru.pushBack(e)
	st.lru.pushBack(e)
	c.entries++
	st.entries++
	evicted := 0
	for len(u.cache) > st.maxPerUser {
		st.evict(u.lru.head)
		evicted++
	}
	for st.entries > st.maxEntries {
		st.evict(st.lru.head)
		evicted++
	}
	return evicted
}

// evict drops e: the cache no longer holds its channel's full presence, so
// the channel is refreshed when one of the user's clients next comes online.
func (st *state) evict(e *entry) {
	e.channel.synced = false
	st.drop(e)
}

// remove drops the cached presence of sender for u, if any.
func (st *state) remove(u *user, sender string) {
	if e := u.cache[sender]; e != nil {
		st.drop(e)
	}
}

// drop unlinks e from the cache, forgetting its channel record when the
// channel has nothing else to remember.
func (st *state) drop(e *entry) {
	u := e.user
	delete(u.cache, e.sender)
	u.lru.remove(e)
	st.lru.remove(e)
	e.channel.entries--
	st.entries--
	u.forgetChannelIfIdle(e.channel)
}

// discard drops all of u's entries and channel records, and returns the
// number of entries dropped.
func (st *state) discard(u *user) int {
	n := len(u.cache)
	for e := u.lru.head; e != nil; e = u.lru.head {
		st.drop(e)
	}
	clear(u.channels)
	return n
}

// prune drops u's entries and records of channels that are not in joined,
// a roster read when state.joins was seen: channels the user left. A
// channel joined since (Joined after the read) is kept although joined
// does not list it.
func (st *state) prune(u *user, joined []jid.JID, seen uint64) {
	if len(u.channels) == 0 {
		return
	}
	keep := make(map[string]bool, len(joined))
	for _, ch := range joined {
		keep[ch.String()] = true
	}
	for key, c := range u.channels {
		if c.joinedAt > seen {
			keep[key] = true
		}
	}
	for e := u.lru.head; e != nil; {
		next := e.links[userEntries].next
		if !keep[e.channel.key] {
			st.drop(e)
		}
		e = next
	}
	for key := range u.channels {
		if !keep[key] {
			delete(u.channels, key)
		}
	}
}

// snapshot returns u's cached presence from senders the user does not
// block, least recently updated first. The stanzas are immutable: the caller
// may use them without the lock.
func (u *user) snapshot() []splice.Stanza {
	out := make([]splice.Stanza, 0, len(u.cache))
	for e := u.lru.head; e != nil; e = e.links[userEntries].next {
		if !e.blocked {
			out = append(out, e.stanza)
		}
	}
	return out
}
