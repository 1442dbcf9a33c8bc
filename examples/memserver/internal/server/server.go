// Package server is the example server's core: it accepts client and
// component connections, keeps the sessions, applies the delivery rules of
// RFC 6120 §10 and RFC 6121 §8, presence and subscriptions (RFC 6121 §3–4),
// and wires in every mixpam package, with the built-in MIX service behind
// the same router as any remote channel.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/examples/memserver/internal/accounts"
	"github.com/mixpam/mixpam/examples/memserver/internal/router"
	"github.com/mixpam/mixpam/examples/memserver/internal/throttle"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/roster"
)

// MIXService is the built-in MIX service as the server drives it: it takes
// the stanzas addressed to its domain, and sends through the router.
type MIXService interface {
	// Deliver hands over one stanza to the service's domain, serialised as
	// for host.RawRouter.RouteRaw. It must not block for long.
	Deliver(ctx context.Context, raw []byte) error
	// Close stops the service.
	Close() error
}

// Config configures a Server.
type Config struct {
	// Domain is the XMPP domain served.
	Domain string
	// Accounts are the users who may log in.
	Accounts *accounts.Store
	// TLS enables STARTTLS (then required before authentication). Nil
	// switches TLS off; PLAIN is then offered over plain TCP.
	TLS *tls.Config
	// MaxStanza is the largest stanza accepted, in bytes; larger ones end
	// the stream with policy-violation. Zero means 262144.
	MaxStanza int64
	// MIXDomain is the domain of the built-in MIX service; "" disables it.
	MIXDomain string
	// NewMIX builds the built-in MIX service for MIXDomain, sending through
	// router. It is required when MIXDomain is set.
	NewMIX func(router host.RawRouter) MIXService
	// Components maps the domain of each external component (XEP-0114)
	// allowed to connect to its shared secret.
	Components map[string]string
	// MaxResources is the most resources one account may have bound at
	// once; a bind beyond it gets resource-constraint (RFC 6120 §7.6.2.1)
	// and the stream ends. Zero means DefaultMaxResources.
	MaxResources int
	// MaxQueued is the most bytes waiting to be written to one session; a
	// session that lets more pile up (a client that does not read) is
	// closed with the resource-constraint stream error. Zero means
	// DefaultMaxQueued. An account's sessions hold at most
	// MaxResources × MaxQueued.
	MaxQueued int
	// Roster and Blocking bound each account's roster and blocklist, and
	// so the answers to a roster get and a blocklist retrieval (see
	// roster.Limits, blocking.Limits). Zero fields mean the packages'
	// defaults.
	Roster   roster.Limits
	Blocking blocking.Limits
	// Limits bound what peers may make the server hold, and throttle
	// password guessing; the zero value takes the defaults.
	Limits Limits
	// RequestTimeout bounds the work done for one stanza, and a
	// client-join or client-leave's wait for the channel (then again for
	// the roster update, pam.JoinConfig.Timeout), so that every request is
	// answered in bounded time. Zero means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// Rosters, Archive and Blocks keep rosters, message archives and
	// blocklists; nil means a fresh in-memory store (roster.MemStore,
	// archive.MemStore, blocking.MemStore).
	Rosters roster.Store
	Archive archive.Store
	Blocks  blocking.Store
	// Cluster, if set, makes the server one node of several (see
	// Cluster); nil means a server on its own, with its sessions in a
	// host.MemSessions.
	Cluster Cluster
}

// DefaultMaxStanza is the stanza size limit when Config.MaxStanza is zero.
const DefaultMaxStanza = 262144

// shutdownGrace bounds how long Close waits for work in progress.
const shutdownGrace = 5 * time.Second

// Server is a running XMPP server. Build it with New, serve listeners with
// ServeC2S and ServeComponents, stop it with Close.
type Server struct {
	cfg    Config
	domain jid.JID
	log    *slog.Logger
	router *router.Router

	sessions   Registry
	resources  *resourceQuota
	rosters    roster.Store
	archive    archive.Store
	blocks     blocking.Store
	mixService MIXService
	mixJID     jid.JID // the built-in MIX service's domain, when there is one
	mp         mixpamParts

	handlers handlers

	guard  *throttle.Guard // failed authentications and handshakes
	unauth *unauthGate     // connections not yet authenticated

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // connections and background work
	subMu  sync.Mutex     // serialises subscription changes (roster read-modify-write)

	pendingMu sync.Mutex
	pending   map[string]map[string][]byte // user → contact → inbound subscribe request

	mu        sync.Mutex
	closed    bool
	active    int           // goroutines started by goConn and running
	idle      chan struct{} // closed and replaced when active drops to 0
	listeners map[net.Listener]struct{}
	live      map[closer]struct{} // client sessions and component streams
}

// closer is a live stream that Close ends with system-shutdown.
type closer interface{ shutdown() }

// New builds a server. It starts nothing: call ServeC2S (and
// ServeComponents) to accept connections.
func New(cfg Config) (*Server, error) {
	domain, err := jid.New("", cfg.Domain, "")
	if err != nil || cfg.Domain == "" {
		return nil, errors.New("server: invalid domain")
	}
	if cfg.Accounts == nil {
		cfg.Accounts = accounts.New()
	}
	if cfg.MaxStanza <= 0 {
		cfg.MaxStanza = DefaultMaxStanza
	}
	if cfg.MaxResources <= 0 {
		cfg.MaxResources = DefaultMaxResources
	}
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = DefaultMaxQueued
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.Rosters == nil {
		cfg.Rosters = roster.NewMemStore()
	}
	if cfg.Archive == nil {
		cfg.Archive = archive.NewMemStore()
	}
	if cfg.Blocks == nil {
		cfg.Blocks = blocking.NewMemStore()
	}
	cfg.Limits = cfg.Limits.withDefaults()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:       cfg,
		domain:    domain,
		log:       log,
		router:    router.New(cfg.Domain, log),
		sessions:  memRegistry{host.NewMemSessions()},
		resources: newResourceQuota(cfg.MaxResources),
		rosters:   cfg.Rosters,
		archive:   cfg.Archive,
		blocks:    cfg.Blocks,
		ctx:       ctx,
		cancel:    cancel,
		listeners: make(map[net.Listener]struct{}),
		live:      make(map[closer]struct{}),
		pending:   make(map[string]map[string][]byte),
		idle:      make(chan struct{}),
		guard:     throttle.New(cfg.Limits.Throttle),
		unauth:    newUnauthGate(cfg.Limits.MaxUnauth, cfg.Limits.MaxUnauthPerAddr),
	}
	s.router.SetLocal(localDomain{s})
	if cfg.Cluster != nil {
		s.sessions = cfg.Cluster
		s.router.SetRemote(cfg.Cluster)
	}
	if s.mp, err = s.newMixpam(); err != nil {
		cancel()
		return nil, err
	}
	s.handlers = s.newHandlers()
	if cfg.MIXDomain != "" {
		if cfg.NewMIX == nil {
			cancel()
			return nil, errors.New("server: MIXDomain set without NewMIX")
		}
		s.mixService = cfg.NewMIX(s.router)
		s.mixJID, err = jid.New("", cfg.MIXDomain, "")
		if err != nil || !s.router.AddDomain(cfg.MIXDomain, mixDomain{s: s}) {
			cancel()
			_ = s.mixService.Close()
			return nil, errors.New("server: invalid MIX domain " + cfg.MIXDomain)
		}
	}
	return s, nil
}

// Domain returns the server's domain.
func (s *Server) Domain() jid.JID { return s.domain }

// ServeC2S accepts client connections on l until Close. It returns nil after
// Close.
func (s *Server) ServeC2S(l net.Listener) error {
	return s.serve(l, s.serveClient)
}

// ServeComponents accepts XEP-0114 component connections on l until Close.
func (s *Server) ServeComponents(l net.Listener) error {
	return s.serve(l, s.serveComponent)
}

func (s *Server) serve(l net.Listener, handle func(net.Conn)) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = l.Close()
		return nil
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	var delay time.Duration
	for {
		conn, err := l.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of file descriptors and the like: back off.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(delay):
				case <-s.ctx.Done():
					return nil
				}
				continue
			}
			return err
		}
		delay = 0
		if !s.goConn(func() { handle(conn) }) {
			_ = conn.Close()
			return nil
		}
	}
}

// goConn runs f in a tracked goroutine unless the server is closed.
func (s *Server) goConn(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	s.active++
	go func() {
		defer s.wg.Done()
		defer s.done()
		f()
	}()
	return true
}

func (s *Server) done() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active--
	if s.active == 0 {
		close(s.idle)
		s.idle = make(chan struct{})
	}
}

// WaitIdle waits until no connection is open and no background work (such
// as finding out a client's capabilities) is running, or ctx ends. Tests use
// it to check that nothing is left behind.
func (s *Server) WaitIdle(ctx context.Context) error {
	for {
		s.mu.Lock()
		if s.active == 0 {
			s.mu.Unlock()
			return nil
		}
		idle := s.idle
		s.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// track registers a live stream for shutdown; it reports false when the
// server is closing.
func (s *Server) track(c closer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.live[c] = struct{}{}
	return true
}

func (s *Server) untrack(c closer) {
	s.mu.Lock()
	delete(s.live, c)
	s.mu.Unlock()
}

// Close stops accepting, ends every stream with system-shutdown, waits for
// all the server's goroutines and closes the MIX service.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.cancel()
	for l := range s.listeners {
		_ = l.Close()
	}
	live := make([]closer, 0, len(s.live))
	for c := range s.live {
		live = append(live, c)
	}
	s.mu.Unlock()

	for _, c := range live {
		c.shutdown()
	}
	s.wg.Wait()
	// Joins in progress are answered (the MIX service is still up) or time
	// out; the sessions are gone, so the answers go nowhere.
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	_ = s.mp.join.Shutdown(ctx)
	if s.mixService != nil {
		return s.mixService.Close()
	}
	return nil
}
