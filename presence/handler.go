package presence

import (
	"context"
	"encoding/xml"
	"errors"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/splice"
	"github.com/mixpam/mixpam/roster"
)

// Handler carries presence between a user's MIX-capable clients and the
// channels in the user's roster. Build it with New; it is safe for
// concurrent use.
type Handler struct {
	sessions host.Sessions
	router   host.Router
	rosters  roster.Reader

	block          BlockFilter
	log            *slog.Logger
	discardOffline bool
	refreshTimeout time.Duration
	now            func() time.Time

	state   state
	stats   counters
	scratch sync.Pool // *scratch

	// outLocks order what goes out on a user's behalf: Outbound,
	// Disconnected and Joined each read a session's presence and send it,
	// and a read-then-send must not be overtaken by a newer one, or a
	// channel keeps a stale presence. Users share the striped locks; the
	// state lock is not held while sending, so a router may still call back
	// into Inbound synchronously.
	outLocks    [outboundStripes]sync.Mutex
	outLockSeed maphash.Seed

	// blockEpochs move when a blocklist change of a user of the stripe
	// starts being applied (BlocklistChanged), so that relay knows its
	// verdict may be stale.
	blockEpochs [outboundStripes]atomic.Uint64
}

// outboundStripes is the number of locks users share for ordering their
// outbound presence.
const outboundStripes = 64

// lockOutbound locks the outbound stripe of j's user and returns the unlock.
func (h *Handler) lockOutbound(j jid.JID) func() {
	mu := &h.outLocks[maphash.String(h.outLockSeed, j.Bare().String())%outboundStripes]
	mu.Lock()
	return mu.Unlock
}

// blockEpoch returns the blocklist epoch of user (a bare JID as a string).
func (h *Handler) blockEpoch(user string) *atomic.Uint64 {
	return &h.blockEpochs[maphash.String(h.outLockSeed, user)%outboundStripes]
}

// New returns a Handler for c. It returns an error, and no Handler, when a
// required field of c is missing or a bound is negative.
func New(c Config) (*Handler, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	h := &Handler{
		sessions:       c.Sessions,
		router:         c.Router,
		rosters:        c.Rosters,
		block:          c.Block,
		log:            c.Logger,
		discardOffline: c.DiscardWhileOffline,
		refreshTimeout: c.RefreshTimeout,
		now:            time.Now,
		outLockSeed:    maphash.MakeSeed(),
		state: state{
			maxPerUser: c.Cache.PerUser,
			maxEntries: c.Cache.Total,
			users:      make(map[string]*user),
			lru:        entryList{order: allEntries},
		},
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.refreshTimeout == 0 {
		h.refreshTimeout = DefaultRefreshTimeout
	}
	if h.state.maxPerUser == 0 {
		h.state.maxPerUser = DefaultMaxPerUser
	}
	if h.state.maxEntries == 0 {
		h.state.maxEntries = DefaultMaxEntries
	}
	h.scratch.New = func() any { return new(scratch) }
	return h, nil
}

// Stats are counters of a Handler's work since it was built.
type Stats struct {
	// Entries is the number of channel presence entries cached now.
	Entries int
	// Evicted counts cache entries dropped to respect Config.Cache.
	Evicted uint64
	// Discarded counts cache entries dropped because the user's last
	// MIX-capable client went offline (Config.DiscardWhileOffline).
	Discarded uint64
	// Spoofed counts presence dropped because it came from an encoded JID of
	// a channel the user has not joined.
	Spoofed uint64
	// Blocked counts presence not delivered because the BlockFilter blocks
	// its sender (available and unavailable presence is still cached).
	Blocked uint64
	// Refreshes counts directed presence sent to channels to refresh their
	// presence (XEP-0405 §2.9.3).
	Refreshes uint64
	// Missed counts live channel presence a client coming online did not
	// get because more than the per-user cache limit arrived while its
	// cached presence was still being delivered.
	Missed uint64
}

// Stats returns the handler's counters.
func (h *Handler) Stats() Stats {
	h.state.mu.Lock()
	entries := h.state.entries
	h.state.mu.Unlock()
	return Stats{
		Entries:   entries,
		Evicted:   h.stats.evicted.Load(),
		Discarded: h.stats.discarded.Load(),
		Spoofed:   h.stats.spoofed.Load(),
		Blocked:   h.stats.blocked.Load(),
		Refreshes: h.stats.refreshes.Load(),
		Missed:    h.stats.missed.Load(),
	}
}

type counters struct {
	evicted, discarded, spoofed, blocked, refreshes, missed atomic.Uint64
}

// scratch holds the buffers one call renders into.
type scratch struct {
	buf     []byte // the captured stanza
	out     []byte // one spliced copy
	targets []target
	attrs   [4]xml.Attr
	stanza  stanzaReader
	end     xml.Token // </presence>, boxed once
}

func (h *Handler) getScratch() *scratch { return h.scratch.Get().(*scratch) }

// maxPooledBuf is the largest buffer putScratch returns to the pool: one
// huge stanza must not pin its memory in the pool.
const maxPooledBuf = 64 << 10

func (h *Handler) putScratch(s *scratch) {
	if cap(s.buf) > maxPooledBuf || cap(s.out) > maxPooledBuf {
		return
	}
	clear(s.targets) // drop references to JIDs
	s.targets = s.targets[:0]
	h.scratch.Put(s)
}

// target is one recipient of a spliced stanza.
type target struct {
	jid jid.JID
	key string // jid.String()
	// bare and resource are the parts of a full JID, escaped once so that
	// each copy of a stanza to a session is only memory copies.
	bare, resource splice.Escaped
}

// sessionTarget returns the target for the full JID j.
func sessionTarget(j jid.JID, key string) target {
	return target{
		jid:      j,
		key:      key,
		bare:     splice.Escape(j.Bare().String()),
		resource: splice.Escape(j.Resourcepart()),
	}
}

// sendAll routes s to every target, with to set to the target, and returns
// the routing errors joined.
func (h *Handler) sendAll(ctx context.Context, buf *[]byte, s splice.Stanza, targets []target) error {
	var errs []error
	for _, t := range targets {
		if t.resource != "" {
			*buf = s.AppendToFull((*buf)[:0], t.bare, t.resource)
		} else {
			*buf = s.AppendTo((*buf)[:0], t.key)
		}
		if err := host.RouteBytes(ctx, h.router, t.jid, *buf); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// blocked consults the block filter, if any.
func (h *Handler) blocked(ctx context.Context, user, peer jid.JID) (bool, error) {
	if h.block == nil {
		return false, nil
	}
	return h.block.Blocked(ctx, user, blocking.Peer{JID: peer})
}

// unblocked appends to dst the channels that user has not blocked. A channel
// whose check fails is left out (nothing is sent where a block might apply)
// and the errors are returned joined.
func (h *Handler) unblocked(ctx context.Context, dst []target, user jid.JID, channels []jid.JID) ([]target, error) {
	var errs []error
	for _, ch := range channels {
		blocked, err := h.blocked(ctx, user, ch)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if blocked {
			h.log.DebugContext(ctx, "presence: not sending to blocked channel", "user", user, "channel", ch)
			continue
		}
		dst = append(dst, target{jid: ch, key: ch.String()})
	}
	return dst, errors.Join(errs...)
}
