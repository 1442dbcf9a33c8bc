package server

import (
	"net"
	"sync"
	"time"

	"mellium.im/xmpp/stream"

	"github.com/mixpam/mixpam/examples/memserver/internal/component"
	"github.com/mixpam/mixpam/examples/memserver/internal/throttle"
	"github.com/mixpam/mixpam/examples/memserver/internal/wire"
)

// Limits bound what a peer can make the server hold, and how often it may
// guess a password. docs/security.md explains each, with the worst-case
// memory per connection. Zero fields take the defaults below.
type Limits struct {
	// UnauthStanza is the size limit of an element before authentication,
	// in bytes (STARTTLS, SASL and the component handshake need little).
	// Default DefaultUnauthStanza.
	UnauthStanza int64
	// Depth and Tokens limit every element after authentication (see
	// wire.Limits); defaults wire.DefaultDepth and wire.DefaultTokens.
	// Before authentication UnauthDepth and UnauthTokens apply.
	Depth, Tokens int
	// StanzaTimeout bounds how long one element may take to arrive after
	// authentication, from its first byte on; a slower one ends the stream
	// with connection-timeout. Default DefaultStanzaTimeout.
	StanzaTimeout time.Duration
	// NegotiationTimeout bounds a connection's whole negotiation (stream
	// headers, TLS, authentication, binding or handshake). Default
	// DefaultNegotiationTimeout.
	NegotiationTimeout time.Duration
	// MaxUnauth and MaxUnauthPerAddr cap the connections that are not yet
	// authenticated, in all and from one IP address. Further connections
	// get a stream error at once. Defaults DefaultMaxUnauth and
	// DefaultMaxUnauthPerAddr.
	MaxUnauth, MaxUnauthPerAddr int
	// Throttle configures the counting of failed authentications and
	// component handshakes (its zero fields take throttle's defaults).
	Throttle throttle.Config
}

// Defaults of Limits.
const (
	DefaultUnauthStanza       = 8192
	DefaultStanzaTimeout      = time.Minute
	DefaultNegotiationTimeout = 30 * time.Second
	DefaultMaxUnauth          = 500
	DefaultMaxUnauthPerAddr   = 20
)

// Fixed limits before authentication: the elements of STARTTLS, SASL and
// the component handshake have depth 1 and at most 6 tokens.
const (
	UnauthDepth  = 4
	UnauthTokens = 32
)

func (l Limits) withDefaults() Limits {
	if l.UnauthStanza <= 0 {
		l.UnauthStanza = DefaultUnauthStanza
	}
	if l.StanzaTimeout <= 0 {
		l.StanzaTimeout = DefaultStanzaTimeout
	}
	if l.NegotiationTimeout <= 0 {
		l.NegotiationTimeout = DefaultNegotiationTimeout
	}
	if l.MaxUnauth <= 0 {
		l.MaxUnauth = DefaultMaxUnauth
	}
	if l.MaxUnauthPerAddr <= 0 {
		l.MaxUnauthPerAddr = DefaultMaxUnauthPerAddr
	}
	return l
}

// unauthLimits are the reader limits before authentication.
func (l Limits) unauthLimits() wire.Limits {
	return wire.Limits{Bytes: l.UnauthStanza, Depth: UnauthDepth, Tokens: UnauthTokens}
}

// unauthGate counts the connections not yet authenticated.
type unauthGate struct {
	max, maxPerAddr int

	mu     sync.Mutex
	total  int
	byAddr map[string]int
}

func newUnauthGate(max, maxPerAddr int) *unauthGate {
	return &unauthGate{max: max, maxPerAddr: maxPerAddr, byAddr: make(map[string]int)}
}

// enter takes a place for a connection from addr, or returns the stream
// error that refuses it. leave gives the place back.
func (g *unauthGate) enter(addr string) *wire.Error {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.total >= g.max:
		// RFC 6120 §4.9.3.19: the server lacks the resources to serve the
		// stream.
		return &wire.Error{Cond: stream.ResourceConstraint, Text: "too many connections are logging in; try again later"}
	case g.byAddr[addr] >= g.maxPerAddr:
		return &wire.Error{Cond: stream.PolicyViolation, Text: "too many connections logging in from " + addr}
	}
	g.total++
	g.byAddr[addr]++
	return nil
}

func (g *unauthGate) leave(addr string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.total--
	if g.byAddr[addr]--; g.byAddr[addr] <= 0 {
		delete(g.byAddr, addr)
	}
}

// admit checks a new connection against the auth throttle and the
// unauthenticated caps. If it is refused, the stream error is sent (after
// a header in namespace ns) and admit returns nil; otherwise the caller
// calls the returned func once the connection is authenticated or gone.
func (s *Server) admit(conn net.Conn, ns string) (leave func()) {
	addr := throttle.AddrKey(conn.RemoteAddr())
	var refusal *wire.Error
	if banned, until := s.guard.AddrBanned(addr); banned {
		refusal = &wire.Error{Cond: stream.PolicyViolation, Text: throttle.BanText(addr, until)}
	} else {
		refusal = s.unauth.enter(addr)
	}
	if refusal != nil {
		// Debug only: refusals come as fast as an attacker connects.
		s.log.Debug("connection refused", "remote", addr, "reason", refusal.Text)
		version := "1.0"
		if ns == component.NS {
			version = "" // XEP-0114 streams have none
		}
		b := wire.AppendHeader(nil, ns, s.cfg.Domain, wire.NewID(), version)
		b = refusal.Append(b)
		_, _ = conn.Write(append(b, wire.Trailer...))
		return nil
	}
	var once sync.Once
	return func() { once.Do(func() { s.unauth.leave(addr) }) }
}
