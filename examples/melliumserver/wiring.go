package main

import (
	"context"
	"encoding/xml"
	"errors"
	"log/slog"
	"strconv"
	"strings"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/disco"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/pam"
	"github.com/mixpam/mixpam/presence"
	"github.com/mixpam/mixpam/roster"
)

// This file is all the mixpam wiring of the server: the stores, the
// handlers, the mux of a client session, and where stanzas for a user's
// bare JID go. The rest of the server is XMPP plumbing on mellium.

// nsPAM is XEP-0405's namespace (package pam does not export it).
const nsPAM = "urn:xmpp:mix:pam:2"

// mixpam is every mixpam handler over in-memory stores.
type mixpam struct {
	sessions *host.MemSessions
	exchange *host.Exchange
	reply    host.ReplyFunc // client-join's answers, through the router
	rosters  *roster.MemStore
	roster   *roster.Handler     // RFC 6121 roster, channel items, annotation (XEP-0405 §2.9, §2.10)
	join     *pam.JoinHandler    // client-join, client-leave (XEP-0405 §2.6–2.8)
	fanOut   *pam.FanOut         // groupchat fan-out and archive (XEP-0405 §2.2, §2.11)
	presence *presence.Handler   // presence to and from channels (XEP-0405 §2.9, XEP-0403)
	block    *blocking.Handler   // XEP-0191, MIX-aware (XEP-0405 §2.12)
	mam      *archive.MAMHandler // XEP-0313 (XEP-0405 §2.11)
	account  *disco.Account      // the account's disco#info (XEP-0405 §2.4)
	resolver *disco.Resolver     // clients' MIX capability (XEP-0405 §2.1, XEP-0115)
}

// newMixpam builds the handlers; router delivers what they send.
func newMixpam(router host.Router, log *slog.Logger) (*mixpam, error) {
	m := &mixpam{sessions: host.NewMemSessions(), exchange: host.NewExchange(router), reply: host.RouteReplies(router), rosters: roster.NewMemStore()}
	archives, blocks := archive.NewMemStore(), blocking.NewMemStore()
	filter, err := blocking.NewFilter(blocking.FilterConfig{Checker: blocking.StoreChecker(blocks)})
	if err != nil {
		return nil, err
	}
	if m.roster, err = roster.NewHandler(roster.HandlerConfig{Store: m.rosters, Sessions: m.sessions, Router: router, Logger: log}); err != nil {
		return nil, err
	}
	if m.presence, err = presence.New(presence.Config{Sessions: m.sessions, Router: router, Rosters: m.rosters, Block: filter, Logger: log}); err != nil {
		return nil, err
	}
	if m.block, err = blocking.NewHandler(blocking.HandlerConfig{Store: blocks, Sessions: m.sessions, Router: router, Presence: m.presence, Logger: log}); err != nil {
		return nil, err
	}
	if m.join, err = pam.NewJoinHandler(pam.JoinConfig{Exchanger: m.exchange, Roster: m.roster, Presence: m.presence, Logger: log}); err != nil {
		return nil, err
	}
	if m.fanOut, err = pam.NewFanOut(pam.FanOutConfig{Sessions: m.sessions, Router: router, Roster: m.rosters, Archive: archives, Block: filter, Logger: log}); err != nil {
		return nil, err
	}
	if m.mam, err = archive.NewMAMHandler(archive.MAMConfig{Store: archives, Logger: log}); err != nil {
		return nil, err
	}
	if m.account, err = disco.NewAccount(disco.AccountConfig{Features: disco.Features{Archive: true},
		OwnerFeatures: append([]string{blocking.NS, "urn:xmpp:sid:0"}, archive.MAMFeatures()...), Logger: log}); err != nil {
		return nil, err
	}
	m.resolver, err = disco.NewResolver(disco.ResolverConfig{Exchanger: m.exchange, Logger: log})
	return m, err
}

// mux is the ServeMux of one client session's IQ requests: mixpam's
// mellium adapters and client-join. (mellium's mux cannot take whole
// messages or presence: mux.Handle refuses stanza names, and its message
// and presence handlers fire once per child. Answers go to answer.)
func (m *mixpam) mux(ctx context.Context, c *client, serverInfo mux.IQHandler) *mux.ServeMux {
	session := c.jid
	// pam.Handle would wait for the channel's answer inside the read loop;
	// ServeIQ answers later through the router.
	join := mux.IQHandlerFunc(func(iq stanza.IQ, t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		iq.From = session
		return m.join.ServeIQ(ctx, iq, xmlstream.MultiReader(xmlstream.Token(start.Copy()), t), m.reply)
	})
	return mux.New(stanza.NSClient,
		roster.Handle(ctx, m.roster, session),
		archive.Handle(ctx, m.mam, session),
		blocking.Handle(ctx, m.block, session),
		disco.Handle(ctx, m.account, session, serverInfo),
		mux.IQ(stanza.SetIQ, xml.Name{Space: nsPAM, Local: "client-join"}, join),
		mux.IQ(stanza.SetIQ, xml.Name{Space: nsPAM, Local: "client-leave"}, join),
	)
}

// clientPresence takes a client's broadcast presence (no to): it records
// it, learns the client's MIX capability from its caps, and sends it to the
// user's channels (XEP-0405 §2.1, §2.9.1).
func (m *mixpam) clientPresence(ctx context.Context, c *client, start xml.StartElement, toks []xml.Token) error {
	p, err := stanza.NewPresence(start)
	if err != nil {
		return err
	}
	p.From = c.jid
	if p.Type != stanza.AvailablePresence && p.Type != stanza.UnavailablePresence {
		return nil
	}
	_ = m.sessions.SetPresence(c.jid, p.Type == stanza.AvailablePresence, priority(toks))
	c.mu.Lock()
	c.presence, c.presenceToks = p, toks
	c.mu.Unlock()
	if caps, _, err := disco.ParseCaps(replay(toks)); err == nil && p.Type == stanza.AvailablePresence {
		if capable, ok := m.resolver.Cached(caps); ok {
			_ = m.sessions.SetMIXCapable(ctx, c.jid, capable)
		} else if c.resolving.CompareAndSwap(false, true) {
			go m.resolveCaps(ctx, c, caps)
		}
	}
	return m.toChannels(ctx, c)
}

// resolveCaps asks the client for its disco#info (the client answers on
// the stream the read loop serves, so not from inside it) and, when it is
// MIX capable, sends its current presence to its channels again. One runs
// per client at a time; caps changed meanwhile wait for the next presence.
func (m *mixpam) resolveCaps(ctx context.Context, c *client, caps disco.Caps) {
	defer c.resolving.Store(false)
	if err := m.resolver.Update(ctx, m.sessions, c.jid, caps); err != nil {
		return
	}
	if r, ok := m.sessions.Resource(c.jid); ok && r.MIXCapable {
		_ = m.toChannels(ctx, c)
	}
}

// toChannels hands the client's current presence to the presence handler,
// one call at a time per client.
func (m *mixpam) toChannels(ctx context.Context, c *client) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return m.presence.Outbound(ctx, c.presence, replay(c.presenceToks))
}

// answer offers an IQ answer from a client to the Exchange, which takes
// those to mixpam's requests (the caps resolver's disco#info).
func (m *mixpam) answer(iq stanza.IQ, payload xml.TokenReader) {
	_, _ = m.exchange.Receive(iq, payload)
}

// disconnected tells mixpam that a client session ended (XEP-0405 §2.9.4).
func (m *mixpam) disconnected(ctx context.Context, session jid.JID) {
	m.sessions.Remove(session)
	_ = m.presence.Disconnected(ctx, session)
}

// toAccount takes a stanza addressed to a local user's bare JID from
// anyone but the user's own clients: channel groupchat goes to the fan-out,
// channel presence to the presence handler, other messages to the user's
// available clients; it reports the stanza's tokens when nothing took it
// and the caller should answer an IQ request.
func (m *mixpam) toAccount(ctx context.Context, r *server, start xml.StartElement, toks []xml.Token) {
	switch start.Name.Local {
	case "message":
		if _, err := m.fanOut.ServeMessage(ctx, start, replay(toks)); !errors.Is(err, host.ErrNotHandled) {
			return
		}
		to, _ := jid.Parse(attr(start, "to"))
		rs, _ := m.sessions.Resources(ctx, to)
		for _, res := range rs {
			if res.Available && res.Priority >= 0 {
				_ = r.Route(ctx, res.JID, replay(whole(start, toks)))
			}
		}
	case "presence":
		p, err := stanza.NewPresence(start)
		if err == nil {
			_ = m.presence.Inbound(ctx, p, replay(toks))
		}
	case "iq":
		iq, err := stanza.NewIQ(start)
		if err != nil {
			return
		}
		if taken, _ := m.exchange.Receive(iq, replay(toks)); taken || iq.Type != stanza.GetIQ && iq.Type != stanza.SetIQ {
			return
		}
		if payload, ok := toks[0].(xml.StartElement); ok && payload.Name.Space == nsPAM {
			_ = m.join.ServeIQ(ctx, iq, replay(toks), m.reply) // forbidden: not the user's own client
			return
		}
		r.routeError(ctx, iq, stanza.ServiceUnavailable)
	}
}

// priority is the <priority/> of a presence's children (RFC 6121 §4.7.2.3),
// 0 when absent or invalid.
func priority(toks []xml.Token) int8 {
	for i, tok := range toks {
		if start, ok := tok.(xml.StartElement); ok && start.Name.Local == "priority" && i+1 < len(toks) {
			if text, ok := toks[i+1].(xml.CharData); ok {
				if p, err := strconv.ParseInt(strings.TrimSpace(string(text)), 10, 8); err == nil {
					return int8(p)
				}
			}
		}
	}
	return 0
}
