package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	mdisco "mellium.im/xmpp/disco"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/ns"
)

const (
	// negotiationTimeout bounds TLS, authentication and binding.
	negotiationTimeout = 30 * time.Second
	// queueLen is how many stanzas may wait for one peer; past it the peer
	// is too slow and is disconnected.
	queueLen = 1024
)

// server is the XMPP server: client sessions on mellium's xmpp.Session,
// XEP-0114 components, and the host.RawRouter mixpam delivers through.
type server struct {
	ctx      context.Context
	domain   string
	tls      *tls.Config
	users    map[string]string // account → password
	secrets  map[string]string // component domain → secret
	log      *slog.Logger
	sessions *host.MemSessions
	mixpam   *mixpam.Dispatcher

	mu    sync.Mutex
	peers map[string]*peer // client full JID or component domain → its stream (nil while binding)
	wg    sync.WaitGroup
}

// peer is a bound client session or a connected component.
type peer struct {
	s      *xmpp.Session
	q      chan []byte // stanzas waiting to be written, in order
	cancel context.CancelFunc
}

// errQueueFull is returned by Route to a peer that reads too slowly.
var errQueueFull = errors.New("melliumserver: queue full")

// enqueue queues a copy of one serialised stanza without blocking.
func (p *peer) enqueue(raw []byte) error {
	select {
	case p.q <- bytes.Clone(raw):
		return nil
	default:
		p.cancel()
		return errQueueFull
	}
}

// write writes the queued stanzas as they are until ctx ends, under the
// session's output lock (mellium writes its stream header and end to
// Conn the same way). Everything else queues.
func (p *peer) write(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case raw := <-p.q:
			w := p.s.TokenWriter()
			_, err := p.s.Conn().Write(raw)
			_ = w.Close()
			if err != nil {
				p.cancel()
				return
			}
		}
	}
}

// connect registers a negotiated session under key (unless another one
// holds it), queues first and starts its writer; disconnect unregisters it
// and closes the stream once the writer is done.
func (s *server) connect(key string, sess *xmpp.Session, first []byte) (ctx context.Context, disconnect func(), ok bool) {
	ctx, cancel := context.WithCancel(s.ctx)
	p := &peer{s: sess, q: make(chan []byte, queueLen), cancel: cancel}
	if first != nil {
		p.q <- first
	}
	s.mu.Lock()
	if s.peers[key] != nil {
		s.mu.Unlock()
		cancel()
		return nil, nil, false
	}
	s.peers[key] = p
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { defer close(done); p.write(ctx) }()
	go func() { <-ctx.Done(); _ = sess.Conn().Close() }() // ends the read loop
	return ctx, func() {
		cancel()
		<-done
		_ = sess.Close()
		s.mu.Lock()
		delete(s.peers, key)
		s.mu.Unlock()
	}, true
}

// peer returns the stream of a client's full JID or a component's domain.
func (s *server) peer(to jid.JID) *peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.peers[to.Domainpart()]; p != nil && to.Domainpart() != s.domain {
		return p
	}
	return s.peers[to.String()]
}

// RouteRaw implements host.RawRouter: a stanza goes to its peer as it is;
// one for a local user's bare JID is delivered.
func (s *server) RouteRaw(ctx context.Context, to jid.JID, raw []byte) error {
	if p := s.peer(to); p != nil {
		return p.enqueue(raw)
	}
	d := xml.NewDecoder(bytes.NewReader(raw))
	start, err := nextStart(d)
	if err != nil {
		return err
	}
	return s.deliver(ctx, start, d)
}

// Route implements host.Router for stanzas mixpam hands as tokens.
func (s *server) Route(ctx context.Context, to jid.JID, r xml.TokenReader) error {
	raw, err := host.AppendStanza(nil, r)
	if err != nil {
		return err
	}
	return s.RouteRaw(ctx, to, raw)
}

// deliver takes one stanza, from stamped, where it is addressed (RFC 6120
// §10, RFC 6121 §8): to mixpam first what may be its (IQ answers, stanzas
// for a local user's bare JID or without to), then to the peer it is for,
// or a message for a bare JID to the user's available sessions of
// non-negative priority. An IQ request nobody takes gets
// service-unavailable. r yields what follows start.
func (s *server) deliver(ctx context.Context, start xml.StartElement, r xml.TokenReader) error {
	to := addr(start, "to")
	bare := to.Domainpart() == s.domain && to.Localpart() != "" && to.Resourcepart() == ""
	if typ := iqType(start); bare || to.String() == "" || typ == stanza.ResultIQ || typ == stanza.ErrorIQ {
		if err := s.mixpam.Dispatch(ctx, start, r); !errors.Is(err, host.ErrNotHandled) {
			return err
		}
	}
	raw, err := host.AppendStanza(nil, xmlstream.Wrap(xmlstream.Inner(r), start))
	if err != nil {
		return err
	}
	var sent bool
	if p := s.peer(to); p != nil {
		sent = p.enqueue(raw) == nil
	} else if bare && start.Name.Local == "message" {
		resources, _ := s.sessions.Resources(ctx, to)
		for _, res := range resources {
			if p := s.peer(res.JID); p != nil && res.Available && res.Priority >= 0 {
				sent = p.enqueue(raw) == nil || sent
			}
		}
	}
	if typ := iqType(start); !sent && (typ == stanza.GetIQ || typ == stanza.SetIQ) {
		s.bounce(ctx, start, stanza.ServiceUnavailable)
	}
	return nil
}

// bounce answers an IQ request with an error.
func (s *server) bounce(ctx context.Context, start xml.StartElement, cond stanza.Condition) {
	if iq, err := stanza.NewIQ(start); err == nil {
		_ = s.Route(ctx, iq.From, iq.Error(stanza.Error{Type: stanza.Cancel, Condition: cond}))
	}
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
		s.mu.Lock()
		delete(s.peers, bound.String())
		s.mu.Unlock()
		return
	}
	_ = conn.SetDeadline(time.Time{})
	s.sessions.Add(host.Resource{JID: bound})
	ctx, disconnect, _ := s.connect(bound.String(), sess, nil)
	// The session's mux: the server's disco#info (XEP-0030) and, through
	// mixpam's adapter, the client's broadcast presence.
	m := mux.New(ns.Client, mdisco.Handle(), mux.Ident(serverIdentity{}),
		host.MuxPresence(ctx, host.PresenceHandlerFunc(s.presence), bound))
	err = s.readClient(ctx, sess, bound, m)
	s.log.Debug("client gone", "jid", bound.String(), "err", err)
	disconnect()
	s.sessions.Remove(bound)
	_ = s.mixpam.Disconnected(s.ctx, bound)
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
		if _, taken := s.peers[j.String()]; resource != "" && !taken {
			s.peers[j.String()] = nil
			return j, nil
		}
		resource = rand.Text()[:12]
	}
}

// readClient is the session's read loop. mellium's Session.Serve cannot
// serve a server: it answers service-unavailable to every IQ request whose
// handler returns without an answer, which a server does for every IQ it
// forwards (to a channel, to another user) and for a client-join. Each
// stanza's from is the session's (RFC 6120 §8.1.2.1); presence without to
// and IQ requests to the server go to the session's mux, the rest is
// delivered.
func (s *server) readClient(ctx context.Context, sess *xmpp.Session, full jid.JID, m *mux.ServeMux) error {
	r := sess.TokenReader()
	defer r.Close()
	for {
		start, err := nextStart(r)
		if err != nil {
			return err
		}
		start = stamp(start, full)
		inner := xmlstream.Inner(r)
		to, typ := addr(start, "to").String(), iqType(start)
		if start.Name.Local == "presence" && to == "" || to == s.domain && (typ == stanza.GetIQ || typ == stanza.SetIQ) {
			err = s.serveMux(ctx, m, full, start, inner)
		} else {
			err = s.deliver(ctx, start, inner)
		}
		if err != nil {
			s.log.Debug("stanza from client", "jid", full.String(), "err", err)
		}
		if _, err := xmlstream.Copy(xmlstream.Discard(), inner); err != nil {
			return err
		}
	}
}

// serveMux hands a stanza to the session's mux and queues what it writes
// for the client. mellium's mux fails on an IQ without payload, writing
// nothing: the request gets bad-request.
func (s *server) serveMux(ctx context.Context, m *mux.ServeMux, full jid.JID, start xml.StartElement, inner xml.TokenReader) error {
	var out muxOutput
	err := m.HandleXMPP(struct {
		xml.TokenReader
		xmlstream.Encoder
	}{xmlstream.MultiReader(inner, xmlstream.Token(start.End())), &out}, &start)
	if len(out) == 0 {
		if typ := iqType(start); typ == stanza.GetIQ || typ == stanza.SetIQ {
			s.bounce(ctx, start, stanza.BadRequest)
		}
		return err
	}
	raw, aerr := host.AppendStanza(nil, &out)
	if aerr != nil {
		return aerr
	}
	return errors.Join(err, s.RouteRaw(ctx, full, raw))
}

// presence records a client's broadcast availability and priority for
// messages to its bare JID (RFC 6121 §4.7.2.3, §8.5.2.1.1), then hands
// the presence to mixpam.
func (s *server) presence(ctx context.Context, p stanza.Presence, payload xml.TokenReader) error {
	raw, err := host.AppendStanza(nil, xmlstream.Wrap(payload, p.StartElement()))
	if err != nil {
		return err
	}
	if p.Type == stanza.AvailablePresence || p.Type == stanza.UnavailablePresence {
		_ = s.sessions.SetPresence(p.From, p.Type == stanza.AvailablePresence, priority(raw))
	}
	d := xml.NewDecoder(bytes.NewReader(raw))
	if _, err := d.Token(); err != nil {
		return err
	}
	return s.mixpam.ServePresence(ctx, p, d)
}

// priority is the <priority/> of a presence, 0 when absent or invalid.
func priority(raw []byte) int8 {
	var p struct {
		Priority int8 `xml:"priority"`
	}
	if xml.Unmarshal(raw, &p) != nil {
		return 0
	}
	return p.Priority
}

// serverIdentity is the server's disco#info identity (XEP-0030).
type serverIdentity struct{}

func (serverIdentity) ForIdentities(_ string, f func(info.Identity) error) error {
	return f(info.Identity{Category: "server", Type: "im"})
}

// muxOutput is what a mux handler writes, as tokens, read back by
// host.AppendStanza (an xml.Encoder fed the same tokens could write an
// xmlns twice).
type muxOutput []xml.Token

func (o *muxOutput) EncodeToken(t xml.Token) error {
	*o = append(*o, xml.CopyToken(t))
	return nil
}

func (o *muxOutput) Encode(v any) error { return o.EncodeElement(v, xml.StartElement{}) }

func (o *muxOutput) EncodeElement(v any, start xml.StartElement) error {
	var b bytes.Buffer
	e := xml.NewEncoder(&b)
	var err error
	if start.Name.Local == "" {
		err = e.Encode(v)
	} else {
		err = e.EncodeElement(v, start)
	}
	if err != nil {
		return err
	}
	_, err = xmlstream.Copy(o, xml.NewDecoder(&b))
	return err
}

func (o *muxOutput) Token() (xml.Token, error) {
	if len(*o) == 0 {
		return nil, io.EOF
	}
	t := (*o)[0]
	*o = (*o)[1:]
	return t, nil
}

// nextStart returns the next start element of r, skipping the XML
// declaration and whitespace.
func nextStart(r xml.TokenReader) (xml.StartElement, error) {
	for {
		tok, err := r.Token()
		if err != nil {
			return xml.StartElement{}, err
		}
		if start, ok := tok.(xml.StartElement); ok {
			return start, nil
		}
	}
}

// addr returns the JID in the attribute name of start, zero when absent
// or malformed.
func addr(start xml.StartElement, name string) jid.JID {
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			j, _ := jid.Parse(a.Value)
			return j
		}
	}
	return jid.JID{}
}

// stamp returns a client's stanza with from set to its session's JID (RFC
// 6120 §8.1.2.1) and a to that is not a JID dropped (taken as none).
func stamp(start xml.StartElement, from jid.JID) xml.StartElement {
	attrs := make([]xml.Attr, 0, len(start.Attr)+1)
	for _, a := range start.Attr {
		if a.Name.Space != "" || a.Name.Local != "from" && (a.Name.Local != "to" || addr(start, "to").String() != "") {
			attrs = append(attrs, a)
		}
	}
	start.Attr = append(attrs, xml.Attr{Name: xml.Name{Local: "from"}, Value: from.String()})
	return start
}

// iqType is the type of an IQ, "" for other stanzas.
func iqType(start xml.StartElement) stanza.IQType {
	if iq, err := stanza.NewIQ(start); err == nil && start.Name.Local == "iq" {
		return iq.Type
	}
	return ""
}
