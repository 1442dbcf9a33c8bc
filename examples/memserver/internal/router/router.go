// Package router delivers stanzas between the server's parts (RFC 6120 §8.1,
// §10): client sessions, the server's own handlers for its domain and its
// accounts, the built-in MIX service and external components. It is the
// host.RawRouter that mixpam's handlers and the MIX service send through, so
// everything, including the built-in MIX service, talks through the same
// routing as a remote peer would.
//
// Before routing, every IQ result or error is offered to the router's
// host.Exchange, which takes the exact answers to requests mixpam sent
// (client-join and client-leave to channels, disco#info to clients).
package router

import (
	"context"
	"encoding/xml"
	"log/slog"
	"sync"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/host"
)

// Session is a bound client session as the router sees it.
type Session interface {
	// Send queues a copy of a stanza for the client and reports whether it
	// was accepted. It never blocks, and does not keep raw.
	Send(raw []byte) bool
	// Replaced ends the session because a new session bound the same full
	// JID (RFC 6120 §7.7.2.2: conflict).
	Replaced()
}

// Deliverer takes stanzas for one domain: the MIX service, an external
// component, or the server's own domain. Deliver must not block for long:
// it queues or hands over.
type Deliverer interface {
	Deliver(ctx context.Context, p packet.Packet) error
}

// Router routes stanzas. It is safe for concurrent use; build it with New.
type Router struct {
	domain   string
	log      *slog.Logger
	exchange *host.Exchange
	parser   packet.Parser

	remote Remote // set before routing starts; nil on a server on its own

	mu       sync.RWMutex
	local    Deliverer
	sessions map[string]Session   // by full JID
	domains  map[string]Deliverer // by domain, other than the server's own
}

// New returns a router for the server domain. Stanzas to the domain (to its
// accounts and to the server itself) go to the Deliverer set with SetLocal.
func New(domain string, logger *slog.Logger) *Router {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Router{
		domain:   normalDomain(domain),
		log:      logger,
		sessions: make(map[string]Session),
		domains:  make(map[string]Deliverer),
	}
	r.exchange = host.NewExchange(r)
	return r
}

// SetLocal sets who takes stanzas for the server's own domain.
func (r *Router) SetLocal(d Deliverer) {
	r.mu.Lock()
	r.local = d
	r.mu.Unlock()
}

// Remote is the rest of a cluster as a router of one node sees it.
type Remote interface {
	// RouteRemote delivers raw to to when to is a session bound on
	// another node, and reports whether it was.
	RouteRemote(ctx context.Context, to jid.JID, raw []byte) (bool, error)
	// Receive offers an IQ answer, before the router's own exchange: it
	// takes the answers to requests that any node sent.
	Receive(ctx context.Context, iq stanza.IQ, payload xml.TokenReader) (bool, error)
}

// SetRemote makes the router one node's of a cluster: SendToSession
// delivers to sessions on other nodes too, and IQ answers go to rm first.
// Call it before routing anything.
func (r *Router) SetRemote(rm Remote) { r.remote = rm }

// Exchange returns the IQ exchange that sends through this router and
// receives its answers.
func (r *Router) Exchange() *host.Exchange { return r.exchange }

// Domain returns the server's domain.
func (r *Router) Domain() jid.JID {
	j, _ := jid.New("", r.domain, "")
	return j
}

// Route implements host.Router.
func (r *Router) Route(ctx context.Context, to jid.JID, st xml.TokenReader) error {
	p, err := packet.Encode(st)
	if err != nil {
		return err
	}
	p.To = to
	r.Send(ctx, p)
	return nil
}

// RouteRaw implements host.RawRouter. raw is copied before RouteRaw returns.
func (r *Router) RouteRaw(ctx context.Context, to jid.JID, raw []byte) error {
	p, err := r.parser.Parse(append([]byte(nil), raw...))
	if err != nil {
		return err
	}
	p.To = to
	r.Send(ctx, p)
	return nil
}

// Send routes a stanza by its to, which the sender's side has already
// checked (stamped from, validated to). Stanzas nobody can take are answered
// with an error where RFC 6120 §10 asks for one.
func (r *Router) Send(ctx context.Context, p packet.Packet) {
	if p.Kind == packet.IQ && (p.Type == string(stanza.ResultIQ) || p.Type == string(stanza.ErrorIQ)) {
		if r.remote != nil {
			if taken, err := r.remote.Receive(ctx, p.IQ(), p.Payload()); err == nil && taken {
				return
			}
		}
		taken, err := r.exchange.Receive(p.IQ(), p.Payload())
		if err != nil {
			r.log.Debug("unreadable IQ answer", "from", p.From, "err", err)
			return
		}
		if taken {
			return
		}
	}
	domain := p.To.Domainpart()
	if domain == "" {
		domain = r.domain
	}
	r.mu.RLock()
	d, ok := r.domains[domain]
	if domain == r.domain {
		d, ok = r.local, r.local != nil
	}
	r.mu.RUnlock()
	if !ok {
		// No server-to-server connections: other domains are unreachable
		// (RFC 6120 §10.4.3).
		r.Bounce(ctx, p, stanza.RemoteServerNotFound, "this server has no connection to "+domain)
		return
	}
	if err := d.Deliver(ctx, p); err != nil {
		r.log.Debug("delivery failed", "to", p.To, "err", err)
		r.Bounce(ctx, p, stanza.ServiceUnavailable, "the recipient's service cannot take the stanza")
	}
}

// Bounce answers p with an error stanza, from p's to (or the server), when
// one is due (packet.ErrorReply).
func (r *Router) Bounce(ctx context.Context, p packet.Packet, cond stanza.Condition, text string) {
	reply, ok := packet.ErrorReply(p, r.Domain(), packet.Err(cond, text))
	if !ok || p.From.String() == "" {
		return
	}
	r.Send(ctx, reply)
}

// SendToSession queues a copy of raw for the session bound to full and
// reports whether there was one that took it: in a cluster, a session on
// any node.
func (r *Router) SendToSession(full jid.JID, raw []byte) bool {
	r.mu.RLock()
	s, ok := r.sessions[full.String()]
	r.mu.RUnlock()
	if !ok && r.remote != nil {
		sent, err := r.remote.RouteRemote(context.Background(), full, raw)
		return sent && err == nil
	}
	return ok && s.Send(raw)
}

// Bind registers s as the session of full. A session already bound there
// is told it was replaced and returned.
func (r *Router) Bind(full jid.JID, s Session) (old Session) {
	r.mu.Lock()
	old = r.sessions[full.String()]
	r.sessions[full.String()] = s
	r.mu.Unlock()
	if old != nil {
		old.Replaced()
	}
	return old
}

// Unbind removes s as the session of full; a newer session bound there
// stays. It reports whether s was bound.
func (r *Router) Unbind(full jid.JID, s Session) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sessions[full.String()] != s {
		return false
	}
	delete(r.sessions, full.String())
	return true
}

// Lookup returns the session bound to full.
func (r *Router) Lookup(full jid.JID) (Session, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.sessions[full.String()]
	return s, ok
}

// IsBound reports whether s is the session bound to full.
func (r *Router) IsBound(full jid.JID, s Session) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.sessions[full.String()] == s
}

// AddDomain makes d take the stanzas for domain (the MIX service, an
// external component). It reports false when the domain is the server's own
// or already taken.
func (r *Router) AddDomain(domain string, d Deliverer) bool {
	key, ok := domainKey(domain)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !ok || key == r.domain || r.domains[key] != nil {
		return false
	}
	r.domains[key] = d
	return true
}

// RemoveDomain undoes AddDomain for d; a newer Deliverer for domain stays.
func (r *Router) RemoveDomain(domain string, d Deliverer) {
	key, _ := domainKey(domain)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.domains[key] == d {
		delete(r.domains, key)
	}
}

// domainKey normalises a domain as jid does, so that lookups by
// jid.JID.Domainpart match.
func domainKey(domain string) (string, bool) {
	j, err := jid.New("", domain, "")
	if err != nil {
		return "", false
	}
	return j.Domainpart(), true
}

func normalDomain(domain string) string {
	key, ok := domainKey(domain)
	if !ok {
		return domain
	}
	return key
}
