package server

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stream"

	"github.com/mixpam/mixpam/disco"
	"github.com/mixpam/mixpam/examples/memserver/internal/c2s"
	"github.com/mixpam/mixpam/examples/memserver/internal/wire"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/ns"
)

// session is one bound client stream. Its reading goroutine is the
// session's dispatcher: it handles the client's stanzas in order and never
// waits on a remote entity (client-join answers when the channel does, caps
// lookups run on one goroutine per session, see mixpam.go). It waits only,
// briefly, after the client's answer to the server's caps query, for the
// verdict to be applied before the client's next stanza (capsanswer.go).
// Everything written to the client goes through the send queue q, served by
// its own goroutine.
type session struct {
	srv  *Server
	jid  jid.JID
	conn net.Conn
	r    *wire.Reader
	q    *wire.Queue

	// ctx ends with the session: work on the session's behalf that
	// outlives one stanza (finding out its capabilities) stops with it.
	ctx    context.Context
	cancel context.CancelFunc

	leaveOnce sync.Once

	mu       sync.Mutex
	presence []byte              // last broadcast available presence, nil while unavailable
	directed map[string]struct{} // JIDs sent directed available presence (RFC 6121 §4.6)
	caps     disco.Caps          // XEP-0115 caps of the last available presence
	capsSeen bool                // caps has been resolved once
	capsBusy bool                // a caps lookup runs (one at a time, for the newest caps)
	lookup   *capsLookup         // the caps lookup running, nil when none

	// chanMu orders what the session's presence tells its channels: a caps
	// lookup that resends the current presence must not overtake newer
	// presence, or unavailable presence on the way out.
	chanMu sync.Mutex
}

// serveClient runs one client connection from negotiation to close.
func (s *Server) serveClient(conn net.Conn) {
	defer lingerClose(conn)
	leave := s.admit(conn, ns.Client)
	if leave == nil {
		return
	}
	lim := s.cfg.Limits
	st, err := c2s.Negotiate(s.ctx, conn, c2s.Config{
		Domain:   s.cfg.Domain,
		TLS:      s.cfg.TLS,
		Accounts: s.cfg.Accounts,
		Unauth:   lim.unauthLimits(),
		Limits:   wire.Limits{Bytes: s.cfg.MaxStanza, Depth: lim.Depth, Tokens: lim.Tokens},
		Timeout:  lim.NegotiationTimeout,
		Guard:    s.guard,
		Logger:   s.log,
	})
	leave()
	if err != nil {
		s.log.Debug("client negotiation failed", "remote", conn.RemoteAddr().String(), "err", err)
		return
	}
	if !s.resources.acquire(st.JID) {
		s.log.Info("bind refused: too many resources", "jid", st.JID.String(), "remote", conn.RemoteAddr().String())
		_ = st.Conn.SetWriteDeadline(time.Now().Add(writeGrace))
		_, _ = st.Conn.Write(bindRefusal(st.BindResult, s.cfg.MaxResources))
		return
	}
	defer s.resources.release(st.JID)
	sess := &session{
		srv:      s,
		jid:      st.JID,
		conn:     st.Conn,
		r:        st.Reader,
		directed: make(map[string]struct{}),
	}
	st.Reader.SetElementTimeout(st.Conn, lim.StanzaTimeout)
	sess.ctx, sess.cancel = context.WithCancel(s.ctx)
	defer sess.cancel()
	overflow := (&wire.Error{Cond: stream.ResourceConstraint, Text: "too much data waiting for this client"}).Append(nil)
	sess.q = wire.NewQueue(st.Conn, s.cfg.MaxQueued, append(overflow, wire.Trailer...))
	if !s.track(sess) {
		return
	}
	defer s.untrack(sess)
	sess.run(st.BindResult)
}

// run serves the session: it registers it, reads and dispatches stanzas
// until the stream ends, then tears it down.
func (sess *session) run(bindResult []byte) {
	s := sess.srv
	// The bind result is the session's first stanza: it is queued before
	// the session can be routed to, and written only once the session is
	// registered, so a client that has its JID can be reached.
	sess.q.Send(bindResult)
	if err := s.sessions.Add(sess.ctx, host.Resource{JID: sess.jid}); err != nil {
		// Unregistered, the session could not be reached from other
		// nodes: end it, the client reconnects.
		s.log.Warn("session not registered", "jid", sess.jid.String(), "err", err)
		_ = sess.conn.Close()
		return
	}
	s.router.Bind(sess.jid, sess)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		if err := sess.q.Run(); err != nil {
			s.log.Debug("write failed", "jid", sess.jid.String(), "err", err)
		}
		// The writer has stopped: unblock the reader too.
		sess.r.Interrupt()
	}()
	s.log.Info("session started", "jid", sess.jid.String())

	err := sess.readLoop()

	sess.cancel()
	sess.leave()
	var se *wire.Error
	switch {
	case errors.As(err, &se):
		sess.q.Close(append(se.Append(nil), wire.Trailer...))
	default:
		sess.q.Close([]byte(wire.Trailer))
	}
	select {
	case <-writerDone:
	case <-s.ctx.Done():
		_ = sess.conn.Close()
	case <-time.After(writeGrace):
		_ = sess.conn.Close()
	}
	<-writerDone
	s.log.Info("session ended", "jid", sess.jid.String(), "reason", errString(err))
}

// writeGrace is how long a closing session may take to flush its queue.
const writeGrace = 5 * time.Second

// readLoop reads and dispatches the client's stanzas until the stream ends.
func (sess *session) readLoop() error {
	for {
		el, err := sess.r.Next()
		if err != nil {
			return err
		}
		if err := sess.handle(el); err != nil {
			return err
		}
	}
}

// Send implements router.Session.
func (sess *session) Send(raw []byte) bool { return sess.q.Send(raw) }

// Replaced implements router.Session: another session bound the same
// resource (RFC 6120 §7.7.2.2). The old session leaves now, before the new
// one is used, so that its unavailable presence cannot follow the new
// session's presence.
func (sess *session) Replaced() {
	sess.leave()
	e := &wire.Error{Cond: stream.Conflict, Text: "replaced by a new session for the same resource"}
	sess.q.Close(append(e.Append(nil), wire.Trailer...))
}

// shutdown implements closer.
func (sess *session) shutdown() {
	e := &wire.Error{Cond: stream.SystemShutdown, Text: "the server is shutting down"}
	sess.q.Close(append(e.Append(nil), wire.Trailer...))
}

// leave takes the session out of routing and tells its contacts and
// channels it went offline (RFC 6121 §4.5.2). It runs once.
func (sess *session) leave() {
	sess.leaveOnce.Do(func() {
		s := sess.srv
		ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), s.cfg.RequestTimeout)
		defer cancel()
		sess.mu.Lock()
		wasAvailable := sess.presence != nil
		sess.mu.Unlock()
		if wasAvailable {
			sess.broadcastUnavailable(ctx)
		}
		if s.router.Unbind(sess.jid, sess) {
			if _, err := s.sessions.Remove(ctx, sess.jid); err != nil {
				s.log.Warn("session not unregistered", "jid", sess.jid.String(), "err", err)
			}
		}
		s.sessionGone(ctx, sess.jid)
	})
}

func errString(err error) string {
	if err == nil || errors.Is(err, wire.ErrStreamEnd) {
		return "closed by client"
	}
	return err.Error()
}

// lingerGrace bounds how long a closing connection is drained.
const lingerGrace = time.Second

// lingerClose closes a connection gracefully: it half-closes it, then reads
// and discards what the peer still sends (bounded in time and size) before
// closing. Closing with unread input makes the kernel reset the connection,
// and the peer could lose the stream error just sent.
func lingerClose(conn net.Conn) {
	if cw, ok := conn.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		_ = conn.SetReadDeadline(time.Now().Add(lingerGrace))
		_, _ = io.Copy(io.Discard, io.LimitReader(conn, 1<<16))
	}
	_ = conn.Close()
}
