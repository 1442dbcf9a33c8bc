// Package c2s negotiates client-to-server streams (RFC 6120 §4–§7): stream
// headers with a host check, STARTTLS, SASL (SCRAM-SHA-256, SCRAM-SHA-1 and
// PLAIN; no -PLUS mechanisms) and resource binding. The result is a Stream
// ready for stanzas; what happens to them is the server's business.
//
// It is written directly on encoding/xml (through package wire),
// mellium.im/sasl and crypto/tls rather than on mellium's xmpp.Session: as a
// server, that session cannot run SCRAM, check the stream's host, limit
// stanza sizes or answer a legacy <session/>, and its Serve loop runs one
// handler at a time while holding the output lock.
package c2s

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"time"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stream"

	"github.com/mixpam/mixpam/examples/memserver/internal/accounts"
	"github.com/mixpam/mixpam/examples/memserver/internal/throttle"
	"github.com/mixpam/mixpam/examples/memserver/internal/wire"
	"github.com/mixpam/mixpam/ns"
)

// Config is what negotiation needs to know about the server.
type Config struct {
	// Domain is the XMPP domain served; streams to any other host get
	// host-unknown.
	Domain string
	// TLS enables STARTTLS (required before authentication). Nil means no
	// TLS at all, and PLAIN is then offered over plain TCP.
	TLS *tls.Config
	// Accounts authenticates users.
	Accounts *accounts.Store
	// Unauth limits each element before authentication (STARTTLS and
	// SASL need little); Limits applies from the successful authentication
	// on. Zero fields take wire's defaults.
	Unauth, Limits wire.Limits
	// Timeout bounds the whole negotiation.
	Timeout time.Duration
	// Guard, if not nil, refuses addresses and accounts with too many
	// failed authentications and counts the failures.
	Guard *throttle.Guard
	// Logger receives the failed authentications at info level and the
	// rest at debug level; nil discards them.
	Logger *slog.Logger
}

// Stream is a negotiated client stream with a bound resource.
type Stream struct {
	// JID is the bound full JID.
	JID jid.JID
	// Conn is the connection, TLS-wrapped when STARTTLS was negotiated.
	Conn net.Conn
	// Reader reads the client's stanzas.
	Reader *wire.Reader
	// BindResult is the IQ result that completes binding. The caller sends
	// it, as the first stanza of the session, once the session is
	// registered.
	BindResult []byte
}

// negotiation is the state of one stream negotiation.
type negotiation struct {
	cfg          Config
	conn         net.Conn
	addr         string // the client's IP address, for the Guard and the logs
	r            *wire.Reader
	secure       bool   // TLS is up, or configured off
	user         string // authenticated localpart
	failures     int    // failed SASL attempts
	bindFailures int    // rejected bind requests
	out          []byte // reused write buffer
}

// Negotiate runs the stream negotiation on conn until a resource is bound.
// On a protocol error it sends the stream error, closes the stream and
// returns the error; it never closes conn itself.
func Negotiate(ctx context.Context, conn net.Conn, cfg Config) (*Stream, error) {
	n := &negotiation{
		cfg:    cfg,
		conn:   conn,
		addr:   throttle.AddrKey(conn.RemoteAddr()),
		r:      wire.NewReader(conn, cfg.Unauth),
		secure: cfg.TLS == nil,
	}
	deadline := time.Now().Add(cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	s, headerSent, err := n.run()
	if err != nil {
		n.fail(err, headerSent)
		return nil, err
	}
	_ = n.conn.SetDeadline(time.Time{})
	return s, nil
}

// run negotiates stream after stream (each STARTTLS and SASL success
// restarts it) until binding. headerSent reports whether our header for the
// current stream was written, for fail.
func (n *negotiation) run() (s *Stream, headerSent bool, err error) {
	for {
		if err := n.header(); err != nil {
			return nil, false, err
		}
		if err := n.features(); err != nil {
			return nil, true, err
		}
		restart, s, err := n.step()
		if err != nil {
			return nil, true, err
		}
		if s != nil {
			return s, true, nil
		}
		if !restart {
			return nil, true, errors.New("c2s: negotiation ended without a restart")
		}
	}
}

// header reads the client's stream header, checks it and writes ours.
func (n *negotiation) header() error {
	h, err := n.r.Header()
	if err != nil {
		return err
	}
	n.out = wire.AppendHeader(n.out[:0], ns.Client, n.cfg.Domain, wire.NewID(), "1.0")
	if err := n.write(n.out); err != nil {
		return err
	}
	switch {
	case h.NS != ns.Client:
		return &wire.Error{Cond: stream.InvalidNamespace, Text: "the stream namespace must be " + ns.Client}
	case h.Version != "1.0":
		return &wire.Error{Cond: stream.UnsupportedVersion, Text: "only XMPP version 1.0 is supported"}
	case h.To != "" && !sameDomain(h.To, n.cfg.Domain):
		return &wire.Error{Cond: stream.HostUnknown, Text: "this server serves " + n.cfg.Domain}
	}
	return nil
}

// step reads and handles elements until the stream restarts (restart true)
// or a resource is bound (s set).
func (n *negotiation) step() (restart bool, s *Stream, err error) {
	for {
		el, err := n.r.Next()
		if err != nil {
			return false, nil, err
		}
		switch {
		case !n.secure:
			if !el.Is(nsTLS, "starttls") {
				return false, nil, &wire.Error{Cond: stream.PolicyViolation, Text: "STARTTLS is required"}
			}
			return true, nil, n.startTLS()
		case n.user == "":
			done, err := n.auth(el)
			if err != nil || done {
				return done, nil, err
			}
		default:
			s, err := n.bind(el)
			if err != nil || s != nil {
				return false, s, err
			}
		}
	}
}

// fail sends err as a stream error when it is one and closes the stream.
func (n *negotiation) fail(err error, headerSent bool) {
	se := wire.TimeoutError(err, "the negotiation took too long")
	if se != nil {
		// The negotiation deadline has passed, for writing too: give the
		// stream error a moment.
		_ = n.conn.SetWriteDeadline(time.Now().Add(time.Second))
	} else if !errors.As(err, &se) {
		// The connection is gone or unusable (a failed TLS handshake).
		n.log("negotiation failed", "err", err)
		return
	}
	n.out = n.out[:0]
	if !headerSent {
		n.out = wire.AppendHeader(n.out, ns.Client, n.cfg.Domain, wire.NewID(), "1.0")
	}
	n.out = se.Append(n.out)
	n.out = append(n.out, wire.Trailer...)
	_ = n.write(n.out)
	n.log("stream error during negotiation", "err", err)
}

func (n *negotiation) write(b []byte) error {
	_, err := n.conn.Write(b)
	return err
}

func (n *negotiation) log(msg string, args ...any) {
	if n.cfg.Logger != nil {
		n.cfg.Logger.Debug(msg, append(args, "remote", n.conn.RemoteAddr().String())...)
	}
}

// sameDomain compares domains as JIDs do (case-folded, RFC 7622 §3.2).
func sameDomain(a, b string) bool {
	ja, err := jid.New("", a, "")
	if err != nil {
		return false
	}
	jb, err := jid.New("", b, "")
	return err == nil && ja.Equal(jb)
}
