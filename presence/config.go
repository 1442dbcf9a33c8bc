package presence

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/roster"
)

// Default limits of a Handler.
const (
	// DefaultMaxPerUser is the default bound on one user's cached channel
	// presence entries (Config.Cache).
	DefaultMaxPerUser = 5000
	// DefaultMaxEntries is the default bound on all cached channel presence
	// entries (CacheLimits): about 100 MB of heap at the ~500 bytes per
	// entry BenchmarkCacheMemory measures.
	DefaultMaxEntries = 200000
	// DefaultRefreshTimeout is how long a refresh waits for the channel by
	// default (Config.RefreshTimeout).
	DefaultRefreshTimeout = 30 * time.Second
)

// BlockFilter decides whether a stanza between user and peer is blocked
// (XEP-0191, made MIX-aware as XEP-0405 §2.12 asks). *blocking.Filter
// implements it. The presence handler passes only peer.JID: presence is
// never groupchat and carries no real JID.
type BlockFilter interface {
	Blocked(ctx context.Context, user jid.JID, peer blocking.Peer) (bool, error)
}

// CacheLimits bound the channel presence cache: at most PerUser entries for
// one user and Total entries in all. When an entry would exceed a bound, the
// entry updated least recently (of that user, or of all users) is evicted
// and counted in Stats.Evicted; its channel is then refreshed the next time
// one of the user's clients comes online.
type CacheLimits struct {
	// PerUser bounds one user's entries; zero means DefaultMaxPerUser.
	PerUser int
	// Total bounds all entries; zero means DefaultMaxEntries.
	Total int
}

// Config configures a Handler. Sessions, Router and Rosters are required;
// the other fields may be left zero.
type Config struct {
	// Sessions tells which sessions are MIX capable (XEP-0405 §2.1).
	// Required.
	Sessions host.Sessions
	// Router delivers presence (through its host.RawRouter fast path when
	// it has one). Required.
	Router host.Router
	// Rosters finds the user's channels (roster.Store is one). Required.
	Rosters roster.Reader
	// Block, if not nil, is consulted: presence from a blocked peer is
	// dropped without an answer (XEP-0191 §3.3: "the server MUST NOT
	// respond and MUST NOT return an error"), probes from a blocked channel
	// are not answered, and no presence is sent to a blocked channel.
	Block BlockFilter
	// Cache bounds the channel presence cache; zero fields mean the
	// defaults.
	Cache CacheLimits
	// DiscardWhileOffline makes the handler discard a user's channel
	// presence when the user's last MIX-capable client goes offline, and
	// ignore channel presence while none is online; each channel is then
	// refreshed when a client comes online again. XEP-0405 §2.9.2 leaves
	// this to the server ("MAY continue to maintain MIX presence status for
	// the user or MAY discard inbound MIX presence information"); by
	// default the cache is kept.
	DiscardWhileOffline bool
	// RefreshTimeout is how long a refresh of a channel (XEP-0405 §2.9.3)
	// is considered in progress when the channel sends no presence in
	// answer: until the first presence from the channel arrives or
	// RefreshTimeout passes, clients coming online do not trigger another
	// refresh of that channel. Zero means DefaultRefreshTimeout.
	RefreshTimeout time.Duration
	// Logger receives dropped stanzas, evictions and refreshes at debug
	// level. Nil discards everything.
	Logger *slog.Logger
}

// check returns an error naming the first problem of c.
func (c Config) check() error {
	switch {
	case c.Sessions == nil:
		return errors.New("presence: Config.Sessions is required")
	case c.Router == nil:
		return errors.New("presence: Config.Router is required")
	case c.Rosters == nil:
		return errors.New("presence: Config.Rosters is required")
	case c.Cache.PerUser < 0 || c.Cache.Total < 0 || c.RefreshTimeout < 0:
		return errors.New("presence: Config.Cache and Config.RefreshTimeout must not be negative")
	}
	return nil
}
