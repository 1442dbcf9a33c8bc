package server

import (
	"context"
	"encoding/xml"
	"slices"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/host"
)

// Registry is where the server keeps its sessions: on one node a
// host.MemSessions, in a cluster a registry of every node's sessions
// (cluster.Node), whose Resources lists a user's sessions on all nodes.
type Registry interface {
	host.Sessions
	host.ResourceAppender
	host.FlagSetter
	// Add registers a session bound on this server; Remove unregisters it
	// and reports whether it was registered.
	Add(ctx context.Context, r host.Resource) error
	Remove(ctx context.Context, session jid.JID) (bool, error)
	// SetPresence records a session's broadcast presence.
	SetPresence(ctx context.Context, session jid.JID, available bool, priority int8) error
	// Resource returns the session with the given full JID.
	Resource(session jid.JID) (host.Resource, bool)
}

// Cluster is what the server needs to run as one node of several; the
// example's cluster build (examples/memserver/cluster) implements it on
// package cluster (NATS). The server then keeps its sessions in the
// Registry, delivers to sessions bound on other nodes through RouteRemote,
// offers every IQ answer to Receive first, sends mixpam's IQs (client-join,
// client-leave) through the Exchanger, and hands every user's bare-JID
// traffic, and each session's presence and end, to the user's owner node
// (ToOwner), which passes it to DeliverOwned. The built-in MIX service
// runs on the owner of its domain.
type Cluster interface {
	Registry
	host.Exchanger
	// Receive offers an IQ answer before the server routes it: it takes
	// the answers to the IQs any node sent through the Exchanger.
	Receive(ctx context.Context, iq stanza.IQ, payload xml.TokenReader) (bool, error)
	// RouteRemote delivers raw to to when to is a session bound on another
	// node, and reports whether it was.
	RouteRemote(ctx context.Context, to jid.JID, raw []byte) (bool, error)
	// ToOwner hands raw (for to) to the node that owns key, unless that
	// node is this one; it reports whether it handed it over. That node
	// calls DeliverOwned with the same kind, to and raw.
	ToOwner(ctx context.Context, key jid.JID, kind OwnedKind, to jid.JID, raw []byte) (bool, error)
}

// OwnedKind says what the owner node does with what another node handed
// it (Cluster.ToOwner, Server.DeliverOwned).
type OwnedKind string

// The kinds of owned traffic.
const (
	// OwnedStanza is a stanza for a user's bare JID (or for the MIX
	// service), delivered as if it had reached the owner first.
	OwnedStanza OwnedKind = "stanza"
	// OwnedPresence is the broadcast presence of the session to, for the
	// presence handler (XEP-0405 §2.9).
	OwnedPresence OwnedKind = "presence"
	// OwnedGone says that the session to ended, or was purged with its
	// dead node; raw is empty.
	OwnedGone OwnedKind = "gone"
)

// memRegistry is the registry of a server on its own.
type memRegistry struct{ *host.MemSessions }

func (m memRegistry) Add(_ context.Context, r host.Resource) error {
	m.MemSessions.Add(r)
	return nil
}

func (m memRegistry) Remove(_ context.Context, session jid.JID) (bool, error) {
	return m.MemSessions.Remove(session), nil
}

func (m memRegistry) SetPresence(_ context.Context, session jid.JID, available bool, priority int8) error {
	return m.MemSessions.SetPresence(session, available, priority)
}

// toOwner hands raw to key's owner node when the server is one node of a
// cluster and another node owns key; it reports whether it did. When the
// cluster cannot take it, the server handles raw itself: the user's state
// then lives on two nodes for a moment, which beats losing the stanza.
func (s *Server) toOwner(ctx context.Context, key jid.JID, kind OwnedKind, to jid.JID, raw []byte) bool {
	if s.cfg.Cluster == nil {
		return false
	}
	sent, err := s.cfg.Cluster.ToOwner(ctx, key.Bare(), kind, to, raw)
	if err != nil {
		s.log.Warn("handing over to the owner node failed; handled here", "key", key.String(), "kind", string(kind), "err", err)
	}
	return sent
}

// DeliverOwned does here, on the owner node, what another node handed over
// with Cluster.ToOwner. raw is not kept.
func (s *Server) DeliverOwned(ctx context.Context, kind OwnedKind, to jid.JID, raw []byte) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	if kind == OwnedGone {
		s.sessionGoneHere(ctx, to)
		return
	}
	p, err := packet.Parse(slices.Clone(raw))
	if err != nil {
		s.log.Warn("unreadable stanza from another node", "kind", string(kind), "err", err)
		return
	}
	switch kind {
	case OwnedPresence:
		s.dispatch(ctx, p)
	case OwnedStanza:
		p.To = to
		if s.mixService != nil && to.Domainpart() == s.mixJID.Domainpart() {
			_ = mixDomain{s: s}.deliverHere(ctx, p)
			return
		}
		localDomain{s}.deliverHere(ctx, p)
	}
}

// SessionsPurged tells the server that sessions bound on a node that died
// are gone: it tells the presence handler (and so the channels, XEP-0405
// §2.9) for those of its users whose owner it is.
func (s *Server) SessionsPurged(ctx context.Context, sessions []jid.JID) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	for _, full := range sessions {
		s.sessionGone(ctx, full)
	}
}

// OwnersMoved tells the server that users' owner nodes changed (a node
// joined or died; moved reports a user whose owner changed): the presence
// of each of its sessions of such a user goes to the new owner, whose
// presence handler then knows the session (to send its presence to a
// channel joined later, and its unavailable presence when it ends). It
// hands them over before it returns, so what the sessions send afterwards
// reaches the new owner after them.
func (s *Server) OwnersMoved(ctx context.Context, moved func(user jid.JID) bool) {
	s.mu.Lock()
	var sessions []*session
	for c := range s.live {
		if sess, ok := c.(*session); ok && moved(sess.jid) {
			sessions = append(sessions, sess)
		}
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	for _, sess := range sessions {
		if current, ok := s.sessionPresence(sess.jid); ok {
			sess.toChannels(ctx, current)
		}
	}
}

// LocalRouter returns the server's router: what a cluster delivers with on
// this node (cluster.Config.Local), stanzas from other nodes included.
func (s *Server) LocalRouter() host.RawRouter { return s.router }
