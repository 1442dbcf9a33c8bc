// Package testclient starts the example server in-process on loopback and
// logs clients in with mellium, for end-to-end tests of the server and of
// anything wired into it. Every wait is bounded and every resource is
// released with t.Cleanup.
package testclient

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/examples/memserver/internal/accounts"
	"github.com/mixpam/mixpam/examples/memserver/internal/server"
	"github.com/mixpam/mixpam/examples/memserver/internal/tlscert"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/roster"
)

// Options configure a test server. The zero value serves "localhost" with
// TLS off, alice, bob and carol (password "pw-" + name), no MIX service
// and no components.
type Options struct {
	// Domain is the XMPP domain; "" means "localhost".
	Domain string
	// TLS offers (and requires) STARTTLS with a fresh self-signed
	// certificate that the clients trust.
	TLS bool
	// Users are the account names; nil means alice, bob and carol.
	Users []string
	// MIXDomain and NewMIX set up the built-in MIX service (see
	// server.Config). NewFakeMIX gives a minimal one.
	MIXDomain string
	NewMIX    func(host.RawRouter) server.MIXService
	// Components maps component domains to their secrets; a component
	// listener is started when it is not empty.
	Components map[string]string
	// MaxStanza is the stanza size limit; 0 means the server's default.
	MaxStanza int64
	// MaxResources, MaxQueued, Roster and Blocking are the per-account
	// quotas (see server.Config); zero values mean the server's defaults.
	MaxResources int
	MaxQueued    int
	Roster       roster.Limits
	Blocking     blocking.Limits
	// Rosters, Archive and Blocks keep rosters, archives and blocklists;
	// nil means in-memory stores.
	Rosters roster.Store
	Archive archive.Store
	Blocks  blocking.Store
	// RequestTimeout bounds the work for one stanza and a client-join's
	// wait for the channel (see server.Config); 0 means the default.
	RequestTimeout time.Duration
	// Limits are the server's other limits; zero fields take the defaults.
	Limits server.Limits
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
}

// Server is a running test server.
type Server struct {
	*server.Server
	// Addr is the client-to-server address.
	Addr string
	// ComponentAddr is the component address, "" without components.
	ComponentAddr string
	// Passwords maps each account name to its password.
	Passwords map[string]string
	// ClientTLS is a client configuration trusting the server's
	// certificate; nil when TLS is off.
	ClientTLS *tls.Config

	domain jid.JID
}

// Remote describes a server running elsewhere (another process), on addr
// with TLS off, serving domain, so that clients can log in to it. Its
// embedded *server.Server is nil: only Addr, Passwords, Domain and JID are
// usable.
func Remote(addr, domain string, passwords map[string]string) *Server {
	return &Server{Addr: addr, Passwords: passwords, domain: jid.MustParse(domain)}
}

// Domain returns the server's domain.
func (s *Server) Domain() jid.JID {
	if s.Server == nil {
		return s.domain
	}
	return s.Server.Domain()
}

// Start starts a server on 127.0.0.1 with ports chosen by the system and
// closes it when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Domain == "" {
		o.Domain = "localhost"
	}
	if o.Users == nil {
		o.Users = []string{"alice", "bob", "carol"}
	}
	ts := &Server{Passwords: make(map[string]string)}
	store := accounts.New()
	for _, u := range o.Users {
		pw := "pw-" + u
		require.NoError(t, store.Add(u, pw))
		ts.Passwords[u] = pw
	}
	cfg := server.Config{
		Domain:     o.Domain,
		Accounts:   store,
		MaxStanza:  o.MaxStanza,
		Limits:     o.Limits,
		MIXDomain:  o.MIXDomain,
		NewMIX:     o.NewMIX,
		Components: o.Components,
		Logger:     o.Logger,

		MaxResources: o.MaxResources,
		MaxQueued:    o.MaxQueued,
		Roster:       o.Roster,
		Blocking:     o.Blocking,
		Rosters:      o.Rosters,
		Archive:      o.Archive,
		Blocks:       o.Blocks,

		RequestTimeout: o.RequestTimeout,
	}
	if o.TLS {
		cert, err := tlscert.Generate(o.Domain)
		require.NoError(t, err)
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		pool := x509.NewCertPool()
		pool.AddCert(cert.Leaf)
		ts.ClientTLS = &tls.Config{RootCAs: pool, ServerName: o.Domain, MinVersion: tls.VersionTLS12}
	}
	srv, err := server.New(cfg)
	require.NoError(t, err)
	ts.Server = srv

	errs := make(chan error, 2)
	serving := 0
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ts.Addr = l.Addr().String()
	go func() { errs <- srv.ServeC2S(l) }()
	serving++
	if len(o.Components) > 0 {
		cl, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ts.ComponentAddr = cl.Addr().String()
		go func() { errs <- srv.ServeComponents(cl) }()
		serving++
	}
	t.Cleanup(func() {
		require.NoError(t, srv.Close())
		for range serving {
			require.NoError(t, <-errs)
		}
	})
	return ts
}

// JID returns the bare JID of the account name.
func (s *Server) JID(name string) jid.JID {
	return jid.MustParse(name + "@" + s.Domain().String())
}
