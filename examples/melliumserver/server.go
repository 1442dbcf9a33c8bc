package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"log/slog"
	"sync"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam"
	"github.com/mixpam/mixpam/host"
)

const (
	// negotiationTimeout bounds TLS, authentication and binding.
	negotiationTimeout = 30 * time.Second
	// queueLen is how many stanzas may wait for one peer; past it the peer
	// is too slow and is disconnected.
	queueLen = 1024
	// maxTokens bounds the tokens of one stanza; a peer that sends more is
	// disconnected.
	maxTokens = 10000
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

// peer is a client session (from its bind on) or a connected component.
type peer struct {
	q      chan []byte // stanzas waiting to be written, in order
	ctx    context.Context
	cancel context.CancelFunc
}

// newPeer returns a peer whose queue takes stanzas at once; start writes
// them once its stream is negotiated.
func (s *server) newPeer() *peer {
	ctx, cancel := context.WithCancel(s.ctx)
	return &peer{q: make(chan []byte, queueLen), ctx: ctx, cancel: cancel}
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

// start writes p's queue to sess, the stanzas as they are, under the
// session's output lock (mellium writes its stream header and end to Conn
// the same way): everything else only queues. stop unregisters p from key
// and ends the stream once the writer is done.
func (s *server) start(key string, p *peer, sess *xmpp.Session) (stop func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer p.cancel()
		for {
			select {
			case <-p.ctx.Done():
				return
			case raw := <-p.q:
				w := sess.TokenWriter()
				_, err := sess.Conn().Write(raw)
				if _ = w.Close(); err != nil {
					return
				}
			}
		}
	}()
	go func() { <-p.ctx.Done(); _ = sess.Conn().Close() }() // ends the read loop
	return func() {
		p.cancel()
		<-done
		_ = sess.Close()
		s.mu.Lock()
		delete(s.peers, key)
		s.mu.Unlock()
	}
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

// errTooLarge ends the stream of a peer that sent more than maxTokens
// tokens in one stanza.
var errTooLarge = errors.New("melliumserver: stanza too large")

// inner returns the rest of the stanza whose start element was just read
// from r, failing past maxTokens.
func inner(r xml.TokenReader) xml.TokenReader {
	in, n := xmlstream.Inner(r), 0
	return xmlstream.ReaderFunc(func() (xml.Token, error) {
		if n++; n > maxTokens {
			return nil, errTooLarge
		}
		return in.Token()
	})
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

// iqType is the type of an IQ, "" for other stanzas.
func iqType(start xml.StartElement) stanza.IQType {
	if iq, err := stanza.NewIQ(start); err == nil && start.Name.Local == "iq" {
		return iq.Type
	}
	return ""
}
