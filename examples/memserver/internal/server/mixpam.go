package server

import (
	"context"
	"errors"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam"
	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/disco"
	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/pam"
	"github.com/mixpam/mixpam/presence"
	"github.com/mixpam/mixpam/roster"
)

// mixpamParts are the mixpam handlers the server is built from: this file
// is the reference wiring of every package.
type mixpamParts struct {
	roster   *roster.Handler     // RFC 6121 roster, channel items, XEP-0405 §2.10 annotation
	join     *pam.JoinHandler    // client-join / client-leave, XEP-0405 §2.6–2.8
	fanOut   *pam.FanOut         // groupchat fan-out and archiving, XEP-0405 §2.2, §2.11
	presence *presence.Handler   // presence to and from channels, XEP-0405 §2.9
	block    *blocking.Handler   // XEP-0191 commands
	filter   *blocking.Filter    // XEP-0191 made MIX-aware, XEP-0405 §2.12
	resolver *disco.Resolver     // MIX capability of clients, XEP-0405 §2.1, XEP-0115
	mam      *archive.MAMHandler // XEP-0313 queries of the archive, XEP-0405 §2.11
	dispatch *mixpam.Dispatcher  // routes stanzas to all of the above
}

// newMixpam builds the mixpam handlers over the server's stores, sessions
// and router.
func (s *Server) newMixpam() (mixpamParts, error) {
	var m mixpamParts
	var err error
	// One MIX-aware blocking filter for everything: the server's own
	// delivery (blockedInbound, blockedOutbound), the fan-out and the
	// presence handler, which sends presence to channels itself.
	m.filter, err = blocking.NewFilter(blocking.FilterConfig{Checker: blocking.StoreChecker(s.blocks)})
	if err != nil {
		return m, err
	}
	r := mixpamRouter{s.router}
	m.roster, err = roster.NewHandler(roster.HandlerConfig{
		Store: s.rosters, Sessions: s.sessions, Router: r,
		Limits: s.cfg.Roster, OnRemove: s.contactRemoved, Logger: s.log,
	})
	if err != nil {
		return m, err
	}
	m.presence, err = presence.New(presence.Config{
		Sessions: s.sessions, Router: r, Rosters: s.rosters,
		Block: m.filter, Logger: s.log,
	})
	if err != nil {
		return m, err
	}
	m.join, err = pam.NewJoinHandler(pam.JoinConfig{
		Exchanger: s.joinExchanger(),
		Roster:    m.roster,
		// After a join, the clients already online send their presence
		// to the channel, and the channel is asked again for its own,
		// which may have arrived before the roster held it (XEP-0405
		// §2.9, §2.9.3).
		Presence: m.presence,
		Timeout:  s.cfg.RequestTimeout,
		Logger:   s.log,
	})
	if err != nil {
		return m, err
	}
	m.fanOut, err = pam.NewFanOut(pam.FanOutConfig{
		Sessions: s.sessions,
		Router:   r,
		Roster:   s.rosters,
		Archive:  s.archive,
		Block:    m.filter,
		Logger:   s.log,
	})
	if err != nil {
		return m, err
	}
	// Presence follows the blocklist (XEP-0191 §3.3, §3.4): channel
	// presence through the presence handler, contacts' here.
	m.block, err = blocking.NewHandler(blocking.HandlerConfig{
		Store: s.blocks, Sessions: s.sessions, Router: r,
		Presence: blocking.PresenceUpdaters{m.presence, contactPresence{s: s, filter: m.filter}},
		Limits:   s.cfg.Blocking, Logger: s.log,
	})
	if err != nil {
		return m, err
	}
	m.mam, err = archive.NewMAMHandler(archive.MAMConfig{Store: s.archive, Logger: s.log})
	if err != nil {
		return m, err
	}
	m.resolver, err = disco.NewResolver(disco.ResolverConfig{Exchanger: capsExchanger{s}, Logger: s.log})
	if err != nil {
		return m, err
	}
	// The dispatcher answers disco#info on accounts with the features of
	// its handlers. IQ answers go to the Exchange in the router, before
	// routing (they may be for the server's domain); caps are resolved
	// here (clientCaps), per session.
	m.dispatch, err = mixpam.NewDispatcher(mixpam.Config{
		Router: r,
		IQ: []mixpam.IQ{
			{Handler: m.roster, Routes: roster.IQRoutes()},
			{Handler: m.join, Routes: pam.IQRoutes()},
			{Handler: m.mam, Routes: archive.IQRoutes()},
			{Handler: m.block, Routes: blocking.IQRoutes()},
		},
		Account:  disco.AccountConfig{Authorizer: disco.AuthorizerFunc(s.mayDiscover), Logger: s.log},
		FanOut:   m.fanOut,
		Presence: m.presence,
		Logger:   s.log,
	})
	return m, err
}

// joinExchanger is the exchanger of client-join and client-leave: in a
// cluster, the cluster's, whose answers find this node from any node.
func (s *Server) joinExchanger() host.Exchanger {
	if s.cfg.Cluster != nil {
		return s.cfg.Cluster
	}
	return s.router.Exchange()
}

// mixpamRequest hands an IQ request to an account's bare JID to the
// dispatcher, which answers it through the router: every mixpam handler
// checks itself that the request comes from the account's own resources
// and answers forbidden otherwise (RFC 6120 §8.3.3.5; RFC 6121 §2.1.5,
// XEP-0405 §2.6, XEP-0313 §4, XEP-0191), and a payload no handler serves
// gets service-unavailable.
func (s *Server) mixpamRequest(ctx context.Context, p packet.Packet) {
	s.dispatch(ctx, p)
}

// dispatch hands p to mixpam's dispatcher and reports whether it was
// mixpam's.
func (s *Server) dispatch(ctx context.Context, p packet.Packet) bool {
	start, payload, err := p.Decoder()
	if err != nil {
		return false
	}
	err = s.mp.dispatch.Dispatch(ctx, start, payload)
	if errors.Is(err, host.ErrNotHandled) {
		return false
	}
	if err != nil {
		s.log.Debug("mixpam dispatch", "from", p.From.String(), "to", p.To.String(), "err", err)
	}
	return true
}

// mayDiscover admits to an account's disco#info the contacts it shares its
// presence with (XEP-0030 §8): a roster item with subscription from or
// both.
func (s *Server) mayDiscover(ctx context.Context, account, requester jid.JID) (bool, error) {
	it, err := s.rosters.Item(ctx, account, requester.Bare())
	if errors.Is(err, roster.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !it.Channel && (it.Subscription == roster.From || it.Subscription == roster.Both), nil
}

// groupchat hands a groupchat message for a user's bare JID to the fan-out
// (XEP-0405 §2.2): archived, and delivered to every MIX-capable resource.
//
// The Dispatcher takes the message as the bytes the router holds
// (DispatchRaw, which gives them to pam.FanOut.ServeRaw): messages from the
// built-in MIX service, and everything else the router carries, are already
// serialised, and decoding them once per recipient user to write them out
// again was most of the server's work per delivery (docs/performance.md).
func (s *Server) groupchat(ctx context.Context, p packet.Packet, user jid.JID) {
	err := s.mp.dispatch.DispatchRaw(ctx, p.Raw)
	switch {
	case errors.Is(err, host.ErrNotHandled):
		// Not for the fan-out: RFC 6121 §8.5.2.1.1 has no rule for
		// groupchat to a bare JID but to refuse it.
		s.router.Bounce(ctx, p, stanza.ServiceUnavailable, "groupchat to a bare JID is only taken from joined channels")
	case err != nil:
		s.log.Debug("mixpam fan-out", "to", user.String(), "err", err)
	}
}

// clientPresence tells the presence handler about a session's broadcast
// presence, which goes to the user's channels if the client is MIX capable.
func (s *Server) clientPresence(ctx context.Context, from jid.JID, p packet.Packet) {
	if s.toOwner(ctx, from, OwnedPresence, from, p.Raw) {
		return
	}
	s.dispatch(ctx, p)
}

// clientCaps finds out whether a client is MIX capable (XEP-0405 §2.1) when
// its XEP-0115 caps change, or on its first presence: from the resolver's
// cache, at once, or by asking the client with disco#info (XEP-0369 §6.7).
// Asking means waiting for the client, so it runs on a goroutine of its own, one
// per session at most however often the caps change: it loops until it has
// resolved the newest caps. When the client turns out MIX capable, its
// current presence goes to the presence handler again, which then brings
// the client online in its channels.
//
// Either way the verdict applies in order with the client's stanzas: a
// cached one to every stanza after the presence, one learnt from the
// client's disco#info answer to every stanza after the answer (the
// session's dispatcher waits for it, see awaitCapsApplied).
func (s *Server) clientCaps(sess *session, p packet.Packet) {
	c, found, err := disco.ParseCaps(p.Payload())
	if err != nil || !found {
		c = disco.Caps{}
	}
	sess.mu.Lock()
	same := sess.capsSeen && sess.caps == c
	sess.caps, sess.capsSeen = c, true
	if same {
		sess.mu.Unlock()
		return
	}
	if capable, ok := s.mp.resolver.Cached(c); ok {
		// Known caps take effect at once, before the client's next
		// stanza, even while a lookup of earlier caps runs (that lookup
		// sees the caps changed and does not apply its verdict): channel
		// traffic reaches the client right after this presence, which
		// goes on to the channels with the capability set.
		s.setMIXCapable(sess, capable)
		sess.mu.Unlock()
		return
	}
	start := !sess.capsBusy
	sess.capsBusy = true
	sess.mu.Unlock()
	if start {
		s.goConn(func() { s.resolveCaps(sess) })
	}
}

// setMIXCapable records the session's MIX capability; sess.mu must be held,
// so that a verdict is recorded only for the caps the session advertises
// at that moment.
func (s *Server) setMIXCapable(sess *session, capable bool) {
	if err := s.sessions.SetMIXCapable(sess.ctx, sess.jid, capable); err != nil {
		s.log.Debug("MIX capability not recorded", "client", sess.jid.String(), "err", err)
	}
}

// resolveCaps resolves the session's caps until they stop changing, one
// capsLookup at a time, each ended once its verdict is applied.
func (s *Server) resolveCaps(sess *session) {
	for {
		l := &capsLookup{done: make(chan struct{})}
		sess.mu.Lock()
		c := sess.caps
		sess.lookup = l
		sess.mu.Unlock()
		s.resolveCapsOnce(sess, c)
		sess.mu.Lock()
		sess.lookup = nil
		done := sess.caps == c || sess.ctx.Err() != nil
		if done {
			sess.capsBusy = false
		}
		sess.mu.Unlock()
		close(l.done)
		if done {
			return
		}
	}
}

// resolveCapsOnce finds out the MIX capability for caps c and, if the
// session still advertises c, records it and, if it is MIX capable, resends
// the session's current presence to its channels.
func (s *Server) resolveCapsOnce(sess *session, c disco.Caps) {
	ctx, cancel := context.WithTimeout(sess.ctx, s.cfg.RequestTimeout)
	defer cancel()
	capable, err := s.mp.resolver.MIXCapable(ctx, sess.jid, c)
	if err != nil {
		s.log.Debug("MIX capability unknown", "client", sess.jid.String(), "err", err)
		return
	}
	sess.mu.Lock()
	current := sess.caps == c
	if current {
		s.setMIXCapable(sess, capable)
	}
	sess.mu.Unlock()
	if !current || !capable {
		// A verdict for caps the client no longer advertises is stale:
		// resolveCaps goes on with the current ones.
		return
	}
	sess.chanMu.Lock()
	defer sess.chanMu.Unlock()
	if !s.router.IsBound(sess.jid, sess) {
		return
	}
	if current, ok := s.sessionPresence(sess.jid); ok {
		s.clientPresence(ctx, sess.jid, current)
	}
}

// toChannels hands the session's broadcast presence to the presence
// handler, in order with the resends of resolveCapsOnce.
func (sess *session) toChannels(ctx context.Context, p packet.Packet) {
	sess.chanMu.Lock()
	defer sess.chanMu.Unlock()
	sess.srv.clientPresence(ctx, sess.jid, p)
}

// channelPresence offers presence for a user's bare JID to the presence
// handler and reports whether it was channel presence (dealt with).
func (s *Server) channelPresence(ctx context.Context, p packet.Packet) bool {
	return s.dispatch(ctx, p)
}

// sessionGone tells the mixpam handlers, on the user's owner node, that a
// session ended.
func (s *Server) sessionGone(ctx context.Context, full jid.JID) {
	if !s.toOwner(ctx, full, OwnedGone, full, nil) {
		s.sessionGoneHere(ctx, full)
	}
}

func (s *Server) sessionGoneHere(ctx context.Context, full jid.JID) {
	if err := s.mp.dispatch.Disconnected(ctx, full); err != nil {
		s.log.Debug("presence on disconnect", "session", full.String(), "err", err)
	}
}

// blockedInbound applies the MIX-aware blocking filter to a stanza for a
// local account (XEP-0191 §3.3, XEP-0405 §2.12): blocked stanzas are not
// delivered, requests and messages are answered service-unavailable, and
// presence is dropped silently (channel presence is kept by the presence
// handler, undelivered).
func (s *Server) blockedInbound(ctx context.Context, p packet.Packet) bool {
	user := p.To.Bare()
	if p.From.String() == "" || p.From.Bare().Equal(user) {
		return false
	}
	blocked, err := s.mp.filter.Blocked(ctx, user, blocking.Peer{JID: p.From, Groupchat: p.Type == string(stanza.GroupChatMessage)})
	if err != nil || !blocked {
		return false
	}
	if p.Kind == packet.Presence && p.To.Resourcepart() == "" {
		// Channel presence goes to the presence handler all the same: it
		// applies the blocklist itself, keeping the blocked participant's
		// presence current for an unblock (XEP-0191 §3.4) without
		// delivering it.
		s.channelPresence(ctx, p)
	}
	if p.IsRequest() || p.Kind == packet.Message && p.Type != string(stanza.GroupChatMessage) {
		s.router.Bounce(ctx, p, stanza.ServiceUnavailable, "")
	}
	return true
}

// blockedOutbound refuses a stanza from the client to a JID the user
// blocked (XEP-0191 §3.3): messages and IQ requests get the <blocked/> error,
// presence is dropped.
func (sess *session) blockedOutbound(ctx context.Context, p packet.Packet) bool {
	user := sess.jid.Bare()
	if p.To.String() == "" || p.To.Bare().Equal(user) || p.To.Localpart() == "" && p.To.Domainpart() == user.Domainpart() {
		return false
	}
	blocked, err := sess.srv.mp.filter.Blocked(ctx, user, blocking.Peer{JID: p.To, Groupchat: p.Type == string(stanza.GroupChatMessage)})
	if err != nil || !blocked {
		return false
	}
	start, _, err := p.Decoder()
	if err != nil {
		return true
	}
	if r := blocking.BlockedError(start, nil); r != nil {
		if reply, err := packet.Encode(r); err == nil {
			sess.q.Send(reply.Raw)
		}
	}
	return true
}
