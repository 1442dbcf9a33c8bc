package server

import (
	"context"
	"errors"
	"net"
	"slices"
	"time"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stream"

	"github.com/mixpam/mixpam/examples/memserver/internal/component"
	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/wire"
)

// componentStream is an external component attached to the router for its
// domain (XEP-0114).
type componentStream struct {
	srv    *Server
	domain jid.JID
	conn   net.Conn
	q      *wire.Queue
}

// serveComponent runs one component connection from handshake to close.
func (s *Server) serveComponent(conn net.Conn) {
	defer lingerClose(conn)
	leave := s.admit(conn, component.NS)
	if leave == nil {
		return
	}
	lim := s.cfg.Limits
	st, err := component.Accept(s.ctx, conn, component.Config{
		Secrets: s.cfg.Components,
		Unauth:  lim.unauthLimits(),
		Limits:  wire.Limits{Bytes: s.cfg.MaxStanza, Depth: lim.Depth, Tokens: lim.Tokens},
		Timeout: lim.NegotiationTimeout,
		Guard:   s.guard,
		Logger:  s.log,
	})
	leave()
	if err != nil {
		s.log.Debug("component handshake failed", "remote", conn.RemoteAddr().String(), "err", err)
		return
	}
	st.Reader.SetElementTimeout(conn, lim.StanzaTimeout)
	overflow := (&wire.Error{Cond: stream.ResourceConstraint, Text: "too much data waiting for this component"}).Append(nil)
	cs := &componentStream{srv: s, domain: st.Domain, conn: conn, q: wire.NewQueue(conn, componentMaxQueued, append(overflow, wire.Trailer...))}
	if !s.track(cs) {
		return
	}
	defer s.untrack(cs)

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		_ = cs.q.Run()
		st.Reader.Interrupt()
	}()
	var readErr error
	if s.router.AddDomain(st.Domain.String(), cs) {
		cs.q.Send(st.Ready)
		s.log.Info("component connected", "domain", st.Domain.String())
		readErr = cs.readLoop(st.Reader)
		s.router.RemoveDomain(st.Domain.String(), cs)
	} else {
		readErr = &wire.Error{Cond: stream.Conflict, Text: "a component is already connected for " + st.Domain.String()}
	}
	var se *wire.Error
	if errors.As(readErr, &se) {
		cs.q.Close(append(se.Append(nil), wire.Trailer...))
	} else {
		cs.q.Close([]byte(wire.Trailer))
	}
	select {
	case <-writerDone:
	case <-s.ctx.Done():
		_ = conn.Close()
	case <-time.After(writeGrace):
		_ = conn.Close()
	}
	<-writerDone
	s.log.Info("component disconnected", "domain", st.Domain.String(), "reason", errString(readErr))
}

// readLoop routes the component's stanzas. Their from must be in the
// component's domain (RFC 6120 §4.9.3.9 invalid-from): a component speaks
// only for its own domain.
func (cs *componentStream) readLoop(r *wire.Reader) error {
	for {
		el, err := r.Next()
		if err != nil {
			return err
		}
		if el.Start.Name.Space != component.NS {
			return &wire.Error{Cond: stream.UnsupportedStanzaType, Text: "unsupported element " + el.Start.Name.Local}
		}
		p, err := packet.FromStart(el.Start)
		switch {
		case p.Kind == "":
			return &wire.Error{Cond: stream.UnsupportedStanzaType, Text: "unsupported element " + el.Start.Name.Local}
		case err != nil:
			return &wire.Error{Cond: stream.ImproperAddressing, Text: err.Error()}
		case p.From.Domainpart() != cs.domain.Domainpart():
			return &wire.Error{Cond: stream.InvalidFrom, Text: "a component may only send from " + cs.domain.String()}
		}
		raw, err := packet.Encode(el.Tokens())
		if err != nil {
			return &wire.Error{Cond: stream.NotWellFormed, Text: err.Error()}
		}
		ctx, cancel := context.WithTimeout(cs.srv.ctx, cs.srv.cfg.RequestTimeout)
		cs.srv.router.Send(ctx, raw)
		cancel()
	}
}

// Deliver implements router.Deliverer: stanzas for the component's domain
// are queued on its stream.
func (cs *componentStream) Deliver(_ context.Context, p packet.Packet) error {
	if !cs.q.Send(p.Raw) {
		return errors.New("server: component stream closed or overloaded")
	}
	return nil
}

// shutdown implements closer.
func (cs *componentStream) shutdown() {
	e := &wire.Error{Cond: stream.SystemShutdown, Text: "the server is shutting down"}
	cs.q.Close(append(e.Append(nil), wire.Trailer...))
}

// mixDomain routes the built-in MIX service's domain to the service, as
// bytes, exactly as a component's domain is routed to its stream. In a
// cluster, the service runs on the owner node of its domain.
type mixDomain struct{ s *Server }

// Deliver implements router.Deliverer.
func (m mixDomain) Deliver(ctx context.Context, p packet.Packet) error {
	if m.s.toOwner(ctx, m.s.mixJID, OwnedStanza, p.To, p.Raw) {
		return nil
	}
	return m.deliverHere(ctx, p)
}

func (m mixDomain) deliverHere(ctx context.Context, p packet.Packet) error {
	return m.s.mixService.Deliver(ctx, p.Raw)
}

// serviceDomains lists the MIX service's and the components' domains, for
// disco#items on the server.
func (s *Server) serviceDomains() []jid.JID {
	var out []jid.JID
	names := make([]string, 0, len(s.cfg.Components)+1)
	if s.cfg.MIXDomain != "" {
		names = append(names, s.cfg.MIXDomain)
	}
	for d := range s.cfg.Components {
		names = append(names, d)
	}
	slices.Sort(names)
	for _, d := range names {
		if j, err := jid.New("", d, ""); err == nil {
			out = append(out, j)
		}
	}
	return out
}

// componentMaxQueued is the most bytes waiting to be written to one
// component. It is not Config.MaxQueued, a per-session quota: a component
// carries a whole domain's traffic.
const componentMaxQueued = 8 << 20
