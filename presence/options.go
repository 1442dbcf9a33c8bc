package presence

import (
	"context"
	"log/slog"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/blocking"
)

// Default limits of a Handler.
const (
	// DefaultMaxPerUser is the default bound on one user's cached channel
	// presence entries (CacheLimits).
	DefaultMaxPerUser = 5000
	// DefaultMaxEntries is the default bound on all cached channel presence
	// entries (CacheLimits): about 100 MB of heap at the ~500 bytes per
	// entry BenchmarkCacheMemory measures.
	DefaultMaxEntries = 200000
	// DefaultRefreshTimeout is how long a refresh waits for the channel by
	// default (RefreshTimeout).
	DefaultRefreshTimeout = 30 * time.Second
)

// BlockFilter decides whether a stanza between user and peer is blocked
// (XEP-0191, made MIX-aware as XEP-0405 §2.12 asks). *blocking.Filter
// implements it. The presence handler passes only peer.JID: presence is
// never groupchat and carries no real JID.
type BlockFilter interface {
	Blocked(ctx context.Context, user jid.JID, peer blocking.Peer) (bool, error)
}

// Option configures a Handler.
type Option func(*Handler)

// Logger makes the handler log at debug level to l (dropped stanzas,
// evictions, refreshes). The default discards everything.
func Logger(l *slog.Logger) Option {
	return func(h *Handler) {
		if l != nil {
			h.log = l
		}
	}
}

// Blocking makes the handler consult f: presence from a blocked peer is
// dropped without an answer (XEP-0191 §3.3: "the server MUST NOT respond and
// MUST NOT return an error"), probes from a blocked channel are not answered,
// and no presence is sent to a blocked channel. A nil f blocks nothing.
func Blocking(f BlockFilter) Option {
	return func(h *Handler) { h.block = f }
}

// CacheLimits bounds the channel presence cache: at most perUser entries for
// one user and total entries in all. When an entry would exceed a bound, the
// entry updated least recently (of that user, or of all users) is evicted
// and counted in Stats.Evicted; its channel is then refreshed the next time
// one of the user's clients comes online. Values below 1 keep the defaults.
func CacheLimits(perUser, total int) Option {
	return func(h *Handler) {
		if perUser > 0 {
			h.state.maxPerUser = perUser
		}
		if total > 0 {
			h.state.maxEntries = total
		}
	}
}

// DiscardWhileOffline makes the handler discard a user's channel presence
// when the user's last MIX-capable client goes offline, and ignore channel
// presence while none is online; each channel is then refreshed when a
// client comes online again. XEP-0405 §2.9.2 leaves this to the server ("MAY
// continue to maintain MIX presence status for the user or MAY discard
// inbound MIX presence information"); by default the cache is kept.
func DiscardWhileOffline() Option {
	return func(h *Handler) { h.discardOffline = true }
}

// RefreshTimeout sets how long a refresh of a channel (XEP-0405 §2.9.3) is
// considered in progress when the channel sends no presence in answer: until
// the first presence from the channel arrives or d passes, clients coming
// online do not trigger another refresh of that channel. Values below 1 keep
// the default.
func RefreshTimeout(d time.Duration) Option {
	return func(h *Handler) {
		if d > 0 {
			h.refreshTimeout = d
		}
	}
}
