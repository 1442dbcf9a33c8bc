package disco

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/ns"
)

// Defaults for ResolverConfig.
const (
	// DefaultCacheSize is the number of verification strings a Resolver
	// remembers by default.
	DefaultCacheSize = 1000
	// DefaultTimeout bounds a disco#info query to a client by default.
	DefaultTimeout = 10 * time.Second
)

// ResolverConfig configures a Resolver.
type ResolverConfig struct {
	// Exchanger sends disco#info queries to clients and returns their
	// answers (host.Exchange, say). It is required.
	Exchanger host.Exchanger
	// From is the address queries are sent from. Zero means the client's
	// domain, that is, the local server.
	From jid.JID
	// CacheSize is the number of verified verification strings remembered,
	// least recently used first out. Zero means DefaultCacheSize.
	CacheSize int
	// Timeout bounds each query. Zero means DefaultTimeout.
	Timeout time.Duration
	// Logger receives debug records about unverifiable answers and shared
	// queries. Nil discards them.
	Logger *slog.Logger
}

// Resolver decides whether clients support MIX (XEP-0405 §2.1) from their
// XEP-0115 entity capabilities, asking a client with a disco#info query when
// its capabilities are not known yet (XEP-0115 §6.2, XEP-0369 §6.7).
//
// An answer is remembered for every client advertising the same hash and
// verification string only when the verification string recomputed from it
// (XEP-0115 §5.1) is the advertised one (§5.4 step 3.8), so a client lying
// about its capabilities deceives nobody but itself. Because the §5.1 string
// does not say where features end and forms begin, a verified answer could
// still be another client's features rearranged into a form: a negative
// answer that names the MIX feature anywhere in its forms is therefore never
// remembered, so that no verdict learnt from one client can take channel
// traffic away from another (the poisoning XEP-0115 §9.3 warns about). Concurrent lookups of the
// same unknown verification string share one query. A Resolver is safe for
// concurrent use; the zero value is not usable: call NewResolver.
type Resolver struct {
	exchanger host.Exchanger
	from      jid.JID
	timeout   time.Duration
	logger    *slog.Logger

	mu      sync.Mutex
	cache   *capsCache
	flights map[string]*flight // queries in progress by cache key
}

// flight is a query that lookups of the same cache key share.
type flight struct {
	done chan struct{} // closed when the query ended
	// Set before done is closed.
	verified bool
	capable  bool
}

// answer is what one client said about itself.
type answer struct {
	capable  bool // the client lists urn:xmpp:mix:core:1
	verified bool // the answer hashes to the advertised verification string
	// shareable: the verdict may cover other clients with the same
	// verification string. A negative verdict is not shareable when the MIX
	// feature's name appears in the answer's forms: the §5.1 string of such
	// an answer may be that of a MIX client whose feature was moved into a
	// form (caps poisoning).
	shareable bool
}

// NewResolver returns a Resolver configured by cfg, or an error when cfg has
// no Exchanger or a negative CacheSize or Timeout.
func NewResolver(cfg ResolverConfig) (*Resolver, error) {
	switch {
	case cfg.Exchanger == nil:
		return nil, errors.New("disco: ResolverConfig.Exchanger is required")
	case cfg.CacheSize < 0 || cfg.Timeout < 0:
		return nil, errors.New("disco: ResolverConfig CacheSize and Timeout must not be negative")
	}
	size := cfg.CacheSize
	if size == 0 {
		size = DefaultCacheSize
	}
	r := &Resolver{
		exchanger: cfg.Exchanger,
		from:      cfg.From,
		timeout:   cfg.Timeout,
		logger:    cfg.Logger,
		cache:     newCapsCache(size),
		flights:   make(map[string]*flight),
	}
	if r.timeout == 0 {
		r.timeout = DefaultTimeout
	}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// MIXCapable reports whether the client with full JID client, which
// advertised c in its presence, supports MIX.
//
// A verification string already verified is answered from the cache without
// a query. Otherwise MIXCapable sends a disco#info query to client for node
// c.InfoNode() (XEP-0115 §6.2), waiting at most the configured timeout, and
// caches the answer if it verifies and, when it says "not MIX capable", does
// not name the MIX feature in a form (see Resolver). An answer that does not verify — a
// hash function this package does not implement (§5.4 step 2), a legacy
// caps element without hash (§13), an ill-formed result or a mismatching
// hash (§5.4 step 3) — still decides for this client, which is
// authoritative about itself (§5.4 step 2.3), but is not cached. With a zero
// c (a presence without caps) the query carries no node and is never cached.
//
// Lookups of a verification string already being queried wait for that
// query; if its answer does not verify they query their own client (§5.4
// step 3.9). A lookup thus takes at most twice the timeout, or until ctx
// ends.
//
// An uncacheable client is queried on every call: call MIXCapable when a
// session's caps change (initial presence, a new ver), not on every presence.
// The error is non-nil when no answer was had: the query could not be sent,
// timed out, was answered with an error (a stanza.Error, see errors.As) or
// with something that is not a disco#info result.
func (r *Resolver) MIXCapable(ctx context.Context, client jid.JID, c Caps) (bool, error) {
	key, cacheable := cacheKey(c)
	if !cacheable {
		a, err := r.query(ctx, client, c)
		return a.capable, err
	}
	r.mu.Lock()
	if capable, ok := r.cache.get(key); ok {
		r.mu.Unlock()
		return capable, nil
	}
	if f, ok := r.flights[key]; ok {
		r.mu.Unlock()
		r.logger.DebugContext(ctx, "disco: waiting for a shared caps query", "client", client.String(), "hash", c.Hash, "ver", c.Ver)
		select {
		case <-f.done:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		if f.verified {
			return f.capable, nil
		}
		a, err := r.query(ctx, client, c)
		r.mu.Lock()
		r.remember(key, a, err)
		r.mu.Unlock()
		return a.capable, err
	}
	f := &flight{done: make(chan struct{})}
	r.flights[key] = f
	r.mu.Unlock()
	a, err := r.lead(ctx, key, f, client, c)
	return a.capable, err
}

// Cached reports the answer cached for c without querying anyone: whether a
// client advertising c supports MIX, and ok when c's verification string
// was verified before. A host can apply a cached answer at once, in order
// with the client's stanzas, so that channel traffic reaches the client
// right after its presence, and call Update (which may wait for the client)
// only when ok is false.
func (r *Resolver) Cached(c Caps) (capable, ok bool) {
	key, cacheable := cacheKey(c)
	if !cacheable {
		return false, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cache.get(key)
}

// lead runs the query that f shares and ends f, whatever happens.
func (r *Resolver) lead(ctx context.Context, key string, f *flight, client jid.JID, c Caps) (a answer, err error) {
	defer func() {
		r.mu.Lock()
		delete(r.flights, key)
		if r.remember(key, a, err) {
			f.verified, f.capable = true, a.capable
		}
		r.mu.Unlock()
		close(f.done)
	}()
	return r.query(ctx, client, c)
}

// remember caches a verified answer and reports whether it did. r.mu must be
// held.
func (r *Resolver) remember(key string, a answer, err error) bool {
	if err != nil || !a.verified || !a.shareable {
		return false
	}
	r.cache.add(key, a.capable)
	return true
}

// Update finds out with MIXCapable whether client supports MIX and records
// the answer with flags.SetMIXCapable. When no answer was had it records
// nothing and returns MIXCapable's error.
func (r *Resolver) Update(ctx context.Context, flags host.FlagSetter, client jid.JID, c Caps) error {
	capable, err := r.MIXCapable(ctx, client, c)
	if err != nil {
		return err
	}
	return flags.SetMIXCapable(ctx, client, capable)
}

// cacheKey returns the cache key for c, or false when c's answer could never
// verify: an unsupported or missing hash, no node, or a ver that is not the
// Base64 of a digest of the hash function's size.
func cacheKey(c Caps) (string, bool) {
	h, ok := hashFunc(c.Hash)
	if !ok || c.Node == "" || len(c.Ver) != base64.StdEncoding.EncodedLen(h.Size()) {
		return "", false
	}
	return c.Hash + " " + c.Ver, true
}

// query asks client for its disco#info and checks the answer against c.
func (r *Resolver) query(ctx context.Context, client jid.JID, c Caps) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var node string
	if c.Node != "" && c.Ver != "" {
		node = c.InfoNode()
	}
	from := r.from
	if from.Equal(jid.JID{}) {
		from = client.Domain()
	}
	req := stanza.IQ{ID: rand.Text(), Type: stanza.GetIQ, From: from, To: client}
	resp, err := r.exchanger.Exchange(ctx, req, xmlstream.Wrap(nil, queryStart(node)))
	if err != nil {
		return answer{}, fmt.Errorf("disco: querying %s: %w", client, err)
	}
	if resp.IQ.Type == stanza.ErrorIQ {
		return answer{}, queryError(client, resp)
	}
	inf, err := ParseInfo(resp.TokenReader())
	if err != nil {
		return answer{}, fmt.Errorf("disco: reading the disco#info result of %s: %w", client, err)
	}
	a := answer{capable: inf.MIXCapable(), verified: r.verify(ctx, client, c, node, inf)}
	a.shareable = a.capable || !formsMention(inf, ns.MIXCore)
	if a.verified && !a.shareable {
		r.logger.InfoContext(ctx, "disco: suspicious caps answer not cached: the MIX feature is in a form", "client", client.String(), "hash", c.Hash, "ver", c.Ver)
	}
	return a, nil
}

// formsMention reports whether v is a FORM_TYPE, a field name or a value in
// one of inf's forms: a string that enters the §5.1 verification string just
// as a feature would.
func formsMention(inf Info, v string) bool {
	for _, f := range inf.Forms {
		for _, field := range f.Fields {
			if field.Var == v || slices.Contains(field.Values, v) {
				return true
			}
		}
	}
	return false
}

// verify reports whether inf, client's answer to the query for c at node,
// hashes to c's verification string (XEP-0115 §5.4 step 3), logging why not.
func (r *Resolver) verify(ctx context.Context, client jid.JID, c Caps, node string, inf Info) bool {
	switch {
	case c == Caps{}:
		// A presence without caps: there is nothing to verify.
		return false
	case c.Hash == "":
		r.logger.DebugContext(ctx, "disco: legacy caps without hash are not verifiable", "client", client.String(), "node", c.Node, "ver", c.Ver)
		return false
	}
	ver, err := VerificationString(inf, c.Hash)
	switch {
	case err != nil:
		r.logger.DebugContext(ctx, "disco: caps not verifiable", "client", client.String(), "hash", c.Hash, "err", err)
		return false
	case ver != c.Ver || inf.Node != node:
		r.logger.DebugContext(ctx, "disco: caps do not match the answer", "client", client.String(), "ver", c.Ver, "computed", ver, "node", inf.Node)
		return false
	}
	return true
}

// queryError describes an error answer to a disco#info query, wrapping the
// stanza error when there is one.
func queryError(client jid.JID, resp host.Response) error {
	se, err := stanza.UnmarshalError(resp.TokenReader())
	if err != nil {
		return fmt.Errorf("disco: %s answered the disco#info query with an error", client)
	}
	return fmt.Errorf("disco: %s answered the disco#info query with an error: %w", client, se)
}
