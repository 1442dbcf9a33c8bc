package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
)

const (
	// negotiationTimeout bounds TLS, authentication and binding.
	negotiationTimeout = 30 * time.Second
	// queueLen is how many stanzas may wait for one client; past it the
	// client is too slow and is disconnected.
	queueLen = 1024
)

// server is the XMPP server: client sessions on mellium's xmpp.Session,
// XEP-0114 components, and the host.Router mixpam delivers through.
type server struct {
	ctx     context.Context
	domain  string
	tls     *tls.Config
	users   map[string]string // account → password
	secrets map[string]string // component domain → secret
	log     *slog.Logger
	mp      *mixpam

	mu         sync.Mutex
	clients    map[string]*client       // full JID → session (nil while binding)
	components map[string]*xmpp.Session // domain → component
	wg         sync.WaitGroup
}

// client is one bound client session.
type client struct {
	jid    jid.JID
	s      *xmpp.Session
	q      chan []xml.Token // stanzas waiting to be written, in order
	cancel context.CancelFunc

	mu           sync.Mutex // orders its presence to channels
	presence     stanza.Presence
	presenceToks []xml.Token
	resolving    atomic.Bool // its caps are being resolved
}

// errQueueFull is returned by Route to a client that reads too slowly.
var errQueueFull = errors.New("melliumserver: client queue full")

// enqueue queues one stanza for the client without blocking.
func (c *client) enqueue(toks []xml.Token) error {
	select {
	case c.q <- toks:
		return nil
	default:
		c.cancel()
		return errQueueFull
	}
}

// write sends the queued stanzas until ctx ends. It is the only writer of
// the session besides negotiation: the read loop and every handler queue.
func (c *client) write(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case toks := <-c.q:
			if err := c.s.Send(ctx, replay(toks)); err != nil {
				c.cancel()
				return
			}
		}
	}
}

// Route implements host.Router: to a component's domain, to a client
// session's queue, or, for a local bare JID, through mixpam's rules.
func (s *server) Route(ctx context.Context, to jid.JID, r xml.TokenReader) error {
	toks, err := collect(r)
	if err != nil {
		return err
	}
	if len(toks) < 2 {
		return errors.New("melliumserver: not a stanza")
	}
	start, ok := toks[0].(xml.StartElement)
	if !ok {
		return errors.New("melliumserver: not a stanza")
	}
	s.mu.Lock()
	comp, c := s.components[to.Domainpart()], s.clients[to.String()]
	s.mu.Unlock()
	switch {
	case comp != nil:
		return comp.Send(ctx, replay(toks))
	case c != nil && c.q != nil:
		return c.enqueue(toks)
	case to.Domainpart() == s.domain && to.Localpart() != "" && to.Resourcepart() == "":
		s.mp.toAccount(ctx, s, start, toks[1:len(toks)-1])
		return nil
	}
	return host.ErrNoSession
}

// routeError answers an IQ request with an error.
func (s *server) routeError(ctx context.Context, iq stanza.IQ, cond stanza.Condition) {
	_ = s.Route(ctx, iq.From, iq.Error(stanza.Error{Type: stanza.Cancel, Condition: cond}))
}

// serveClient negotiates a client stream (STARTTLS, SASL PLAIN, bind) with
// mellium and serves it until it ends.
func (s *server) serveClient(conn net.Conn) {
	defer conn.Close()
	var user string
	var bound jid.JID
	features := []xmpp.StreamFeature{
		xmpp.StartTLS(s.tls),
		xmpp.SASLServer(func(n *sasl.Negotiator) bool {
			name, password, identity := n.Credentials()
			want, ok := s.users[string(name)]
			if !ok || len(identity) > 0 && string(identity) != string(name) || subtle.ConstantTimeCompare([]byte(want), password) != 1 {
				return false
			}
			user = string(name) // mellium forgets it after SASL: bind needs it
			return true
		}, sasl.Plain),
		xmpp.BindCustom(func(_ jid.JID, resource string) (jid.JID, error) {
			var err error
			bound, err = s.bind(user, resource)
			return bound, err
		}),
	}
	_ = conn.SetDeadline(time.Now().Add(negotiationTimeout))
	sess, err := xmpp.ReceiveSession(s.ctx, conn, 0, xmpp.NewNegotiator(func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
		return xmpp.StreamConfig{Features: features}
	}))
	if err != nil || user == "" || bound.Resourcepart() == "" {
		s.log.Debug("client negotiation failed", "addr", conn.RemoteAddr().String(), "err", err)
		s.unbind(bound)
		return
	}
	_ = conn.SetDeadline(time.Time{})
	ctx, cancel := context.WithCancel(s.ctx)
	c := &client{jid: bound, s: sess, q: make(chan []xml.Token, queueLen), cancel: cancel}
	s.mp.sessions.Add(host.Resource{JID: bound})
	s.mu.Lock()
	s.clients[bound.String()] = c
	s.mu.Unlock()
	s.log.Debug("client bound", "jid", bound.String())
	done := make(chan struct{})
	go func() { defer close(done); c.write(ctx) }()
	go func() { <-ctx.Done(); _ = sess.Close(); _ = conn.Close() }()

	err = s.readClient(ctx, c, s.mp.mux(ctx, c, mux.IQHandlerFunc(serverInfo)))
	s.log.Debug("client gone", "jid", bound.String(), "err", err)
	cancel()
	<-done
	s.unbind(bound)
	s.mp.disconnected(s.ctx, bound)
}

// bind picks the full JID of a new session: the resource asked for, unless
// it is taken or empty, when it is random (RFC 6120 §7.6.2.2).
func (s *server) bind(user, resource string) (jid.JID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		j, err := jid.New(user, s.domain, resource)
		if err != nil {
			return j, err
		}
		if _, taken := s.clients[j.String()]; resource != "" && !taken {
			s.clients[j.String()] = nil
			return j, nil
		}
		resource = rand.Text()[:12]
	}
}

// unbind forgets a session's full JID.
func (s *server) unbind(j jid.JID) {
	s.mu.Lock()
	delete(s.clients, j.String())
	s.mu.Unlock()
}

// readClient is the session's read loop. mellium's Session.Serve cannot be
// used: it answers service-unavailable to every IQ request whose handler
// returns without writing an answer, which a server does for every IQ it
// forwards (to a channel, to another user) and for a client-join.
func (s *server) readClient(ctx context.Context, c *client, m *mux.ServeMux) error {
	r := c.s.TokenReader()
	defer r.Close()
	for {
		tok, err := r.Token()
		if err != nil {
			return err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue // whitespace keepalive
		}
		inner := xmlstream.Inner(r)
		if err := s.fromClient(ctx, c, m, start, inner); err != nil {
			return err
		}
		if _, err := xmlstream.Copy(xmlstream.Discard(), inner); err != nil {
			return err
		}
	}
}

// fromClient dispatches one stanza from a client. Its from is always the
// session's full JID (RFC 6120 §8.1.2.1). IQs to the server or to the
// user's own account go to the session's mux; broadcast presence and
// messages to a local account to mixpam; everything else is routed as it
// is (to channels, to other users).
func (s *server) fromClient(ctx context.Context, c *client, m *mux.ServeMux, start xml.StartElement, inner xml.TokenReader) error {
	start = setAttr(start, "from", c.jid.String())
	to, err := jid.Parse(attr(start, "to"))
	if err != nil {
		to = jid.JID{} // a malformed to is taken as none
		start = setAttr(start, "to", "")
	}
	none := to.String() == ""
	local := none || to.Equal(c.jid.Bare()) || to.String() == s.domain
	if iq, _ := stanza.NewIQ(start); start.Name.Local == "iq" && (iq.Type == stanza.ResultIQ || iq.Type == stanza.ErrorIQ) && local {
		s.mp.answer(iq, inner) // mellium's mux ends the stream on an error IQ without payload
		return nil
	}
	if start.Name.Local == "iq" && local {
		w := &replies{TokenReader: inner}
		err := m.HandleXMPP(w, &start)
		answers := w.stanzas()
		for _, st := range answers {
			_ = c.enqueue(st)
		}
		if iq, _ := stanza.NewIQ(start); err != nil && len(answers) == 0 {
			// The request could not be read (mellium's mux fails on an
			// IQ without payload): it still gets an answer; a broken
			// stream ends at the next read.
			s.routeError(ctx, iq, stanza.BadRequest)
		}
		return nil
	}
	toks, err := collect(inner)
	if err != nil {
		return err
	}
	if start.Name.Local == "presence" && none {
		return s.mp.clientPresence(ctx, c, start, toks)
	}
	if start.Name.Local == "message" && to.Domainpart() == s.domain && to.Localpart() != "" && to.Resourcepart() == "" {
		s.mp.toAccount(ctx, s, start, toks)
		return nil
	}
	if err := s.Route(ctx, to, replay(whole(start, toks))); err != nil && start.Name.Local == "iq" {
		if iq, _ := stanza.NewIQ(start); iq.Type == stanza.GetIQ || iq.Type == stanza.SetIQ {
			s.routeError(ctx, iq, stanza.ServiceUnavailable)
		}
	}
	return nil
}

// serverInfo answers disco#info requests to the server's domain (XEP-0030).
func serverInfo(iq stanza.IQ, t xmlstream.TokenReadEncoder, _ *xml.StartElement) error {
	query := xml.StartElement{Name: xml.Name{Space: "http://jabber.org/protocol/disco#info", Local: "query"}}
	identity := xml.StartElement{Name: xml.Name{Local: "identity"},
		Attr: []xml.Attr{{Name: xml.Name{Local: "category"}, Value: "server"}, {Name: xml.Name{Local: "type"}, Value: "im"}}}
	_, err := xmlstream.Copy(t, iq.Result(xmlstream.Wrap(xmlstream.Wrap(nil, identity), query)))
	return err
}
