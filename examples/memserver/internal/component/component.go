// Package component accepts external components (XEP-0114, Jabber Component
// Protocol): the stream header names the component's domain, the server
// answers with a stream id, and the component proves it knows the shared
// secret with <handshake>hex(SHA-1(id + secret))</handshake> (XEP-0114 §3).
//
// mellium's component package only connects components to servers (its
// receiving side is not implemented), so this is written on package wire,
// like the client streams.
package component

import (
	"context"
	"crypto/sha1" //nolint:gosec // XEP-0114 §3 defines the handshake with SHA-1.
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"strings"
	"time"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stream"

	"github.com/mixpam/mixpam/examples/memserver/internal/throttle"
	"github.com/mixpam/mixpam/examples/memserver/internal/wire"
)

// NS is the stream namespace of components (XEP-0114 §3).
const NS = "jabber:component:accept"

// Config is what the handshake needs to know.
type Config struct {
	// Secrets maps each component domain allowed to connect to its secret.
	Secrets map[string]string
	// Unauth limits the elements before the handshake succeeded, Limits
	// those after. Zero fields take wire's defaults.
	Unauth, Limits wire.Limits
	// Timeout bounds the handshake.
	Timeout time.Duration
	// Guard, if not nil, refuses addresses (and component domains) with too
	// many failed handshakes and counts the failures.
	Guard *throttle.Guard
	// Logger receives failed handshakes at info level; nil discards them.
	Logger *slog.Logger
}

// Stream is an authenticated component stream.
type Stream struct {
	// Domain is the component's domain.
	Domain jid.JID
	// Reader reads the component's stanzas.
	Reader *wire.Reader
	// Ready is the <handshake/> that tells the component it is
	// authenticated. The caller sends it once the domain is routed to the
	// component.
	Ready []byte
}

// Accept runs the XEP-0114 handshake on conn. On a protocol error or a
// wrong secret it sends the stream error and returns the error; it never
// closes conn.
func Accept(ctx context.Context, conn net.Conn, cfg Config) (*Stream, error) {
	_ = conn.SetDeadline(time.Now().Add(cfg.Timeout))
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	r := wire.NewReader(conn, cfg.Unauth)
	h, err := r.Header()
	if err != nil {
		fail(conn, "", err, false)
		return nil, err
	}
	id := wire.NewID()
	if _, err := conn.Write(wire.AppendHeader(nil, NS, h.To, id, "")); err != nil {
		return nil, err
	}
	domain, secret, err := lookup(cfg.Secrets, h)
	if err != nil {
		fail(conn, h.To, err, true)
		return nil, err
	}
	el, err := r.Next()
	if err == nil && !el.Is(NS, "handshake") {
		err = &wire.Error{Cond: stream.NotAuthorized, Text: "expected <handshake/>"}
	}
	addr := throttle.AddrKey(conn.RemoteAddr())
	if err == nil && cfg.Guard != nil && !cfg.Guard.Allowed(addr, domain.String()) {
		// Refused before the secret is looked at (XEP-0114 has no
		// temporary failure; RFC 6120 §4.9.3.17 policy-violation).
		err = &wire.Error{Cond: stream.PolicyViolation, Text: "too many failed handshakes from " + addr + " or for " + domain.String() + "; try again later"}
	}
	if err == nil && !validHandshake(id, secret, el.Text()) {
		err = &wire.Error{Cond: stream.NotAuthorized, Text: "wrong handshake"}
		if cfg.Logger != nil {
			cfg.Logger.Info("component handshake failed", "remote", addr, "domain", domain.String())
		}
		if cfg.Guard != nil {
			cfg.Guard.Fail(addr, domain.String())
		}
	}
	if err != nil {
		fail(conn, h.To, err, true)
		return nil, err
	}
	r.SetLimits(cfg.Limits)
	_ = conn.SetDeadline(time.Time{})
	return &Stream{Domain: domain, Reader: r, Ready: []byte("<handshake/>")}, nil
}

// lookup checks the stream header and finds the domain's secret.
func lookup(secrets map[string]string, h wire.Header) (jid.JID, string, error) {
	if h.NS != NS {
		return jid.JID{}, "", &wire.Error{Cond: stream.InvalidNamespace, Text: "the stream namespace must be " + NS}
	}
	domain, err := jid.New("", h.To, "")
	if err != nil || h.To == "" {
		return jid.JID{}, "", &wire.Error{Cond: stream.HostUnknown, Text: "the to attribute must name the component's domain"}
	}
	for d, secret := range secrets {
		if dj, err := jid.New("", d, ""); err == nil && dj.Equal(domain) {
			return domain, secret, nil
		}
	}
	return jid.JID{}, "", &wire.Error{Cond: stream.HostUnknown, Text: "no component is configured for " + h.To}
}

// validHandshake checks the hex SHA-1 of id and secret, in constant time.
func validHandshake(id, secret, got string) bool {
	sum := sha1.Sum([]byte(id + secret)) //nolint:gosec // XEP-0114 §3.
	want := hex.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(strings.TrimSpace(got)))) == 1
}

// fail sends a stream error, with our header first if it was not sent.
func fail(conn net.Conn, from string, err error, headerSent bool) {
	se := wire.TimeoutError(err, "the handshake took too long")
	if se != nil {
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
	} else if !errors.As(err, &se) {
		return
	}
	var b []byte
	if !headerSent {
		b = wire.AppendHeader(b, NS, from, wire.NewID(), "")
	}
	b = se.Append(b)
	_, _ = conn.Write(append(b, wire.Trailer...))
}
