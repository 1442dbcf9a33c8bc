package mixservice

import (
	"encoding/xml"
	"strconv"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/ns"
)

// This file keeps and distributes participants' presence (XEP-0403,
// XEP-0405 §2.9).

// Presence types the service tells apart (RFC 6121 §4.7.1).
const (
	typeAvailable   = ""
	typeUnavailable = "unavailable"
	typeProbe       = "probe"
)

// preparePresence reads a presence addressed to d. Only channels take
// presence. Subscription requests are ignored: the user's server keeps the
// channel in the roster by itself (XEP-0405 §2.9), and a channel has no
// presence of its own to share.
func (s *Service) preparePresence(in *inbound, d dest) handler {
	switch in.typ {
	case typeAvailable, typeUnavailable, typeProbe:
	case "subscribe", "subscribed", "unsubscribe", "unsubscribed":
		return nothing
	default:
		return in.refuse(stanzaError(stanza.BadRequest, "unknown presence type "+in.typ))
	}
	if d != destChannel {
		return nothing
	}
	// Presence from a bare JID asks for the channel's presence (XEP-0405
	// §2.9.3), as a probe does (RFC 6121 §4.3); presence from a client's
	// full JID is the client's presence (XEP-0403 §4.1, §4.3).
	refresh := in.from.Resourcepart() == "" || in.typ == typeProbe
	var content []byte
	if !refresh {
		var err error
		content, err = in.appendChildren(nil, forgedPresence)
		switch {
		case err != nil:
			return in.refuse(stanzaError(stanza.BadRequest, err.Error()))
		case len(content) > s.limits.PresenceBytes && in.typ == typeUnavailable:
			content = nil // the client is gone all the same
		case len(content) > s.limits.PresenceBytes:
			return in.refuse(stanzaError(stanza.PolicyViolation, "presence content is at most "+strconv.Itoa(s.limits.PresenceBytes)+" bytes here"))
		}
	}
	return func(c *channel) []outgoing {
		if in.typ == typeUnavailable {
			p := c.participantOf(in.from)
			if p == nil || refresh {
				return nil
			}
			return c.clientGone(p, in.from, content)
		}
		if c == nil {
			return noChannel(in)
		}
		p := c.participantOf(in.from)
		switch {
		case p == nil:
			return fail(in, stanza.Forbidden, "only participants share presence in the channel; join it first")
		case !refresh:
			return c.clientAvailable(in, p, content, s.limits.Resources)
		case p.nodes.has(nodePresence):
			return c.fullPresence(p.to)
		}
		return nil
	}
}

// forgedPresence reports the children of a client's presence that only the
// channel may write: a <mix/> of MIX presence (XEP-0403 §3.5).
func forgedPresence(e xml.StartElement) bool {
	return e.Name == xml.Name{Space: ns.MIXPresence, Local: "mix"}
}

// clientAvailable stores the presence of p's client in.from (an item of the
// presence node) and returns it as distributed to the node's subscribers.
// A participant has at most limit clients whose presence the channel keeps.
func (c *channel) clientAvailable(in *inbound, p *participant, content []byte, limit int) []outgoing {
	i := p.client(in.from)
	if i < 0 {
		if len(p.clients) >= limit {
			return fail(in, stanza.ResourceConstraint, "the channel keeps the presence of at most "+strconv.Itoa(limit)+" clients per participant")
		}
		from, err := p.encoded.WithResource(in.from.Resourcepart())
		if err != nil {
			return fail(in, stanza.JIDMalformed, "the client's resource cannot be used in the participant's JID")
		}
		p.clients = append(p.clients, client{jid: in.from, from: from})
		i = len(p.clients) - 1
	}
	p.clients[i].content = content
	return []outgoing{c.presenceOf(p, &p.clients[i], typeAvailable, content, c.subscribers[nodePresence])}
}

// clientGone removes the presence of p's client full, if the channel has
// it, and returns its unavailable presence, with content, as distributed
// to the presence node's subscribers (XEP-0403 §4.3).
func (c *channel) clientGone(p *participant, full jid.JID, content []byte) []outgoing {
	i := p.client(full)
	if i < 0 {
		return nil
	}
	gone := p.clients[i]
	p.clients = append(p.clients[:i], p.clients[i+1:]...)
	return []outgoing{c.presenceOf(p, &gone, typeUnavailable, content, c.subscribers[nodePresence])}
}

// clientsGone removes the presence of all of p's clients and returns their
// unavailable presence (XEP-0403 §4.4, on leave).
func (c *channel) clientsGone(p *participant) []outgoing {
	var out []outgoing
	for i := range p.clients {
		out = append(out, c.presenceOf(p, &p.clients[i], typeUnavailable, nil, c.subscribers[nodePresence]))
	}
	p.clients = nil
	return out
}

// presenceOfClients returns the presence of p's clients as distributed to
// the presence node's subscribers (after a nick change).
func (c *channel) presenceOfClients(p *participant) []outgoing {
	var out []outgoing
	for i := range p.clients {
		cl := &p.clients[i]
		out = append(out, c.presenceOf(p, cl, typeAvailable, cl.content, c.subscribers[nodePresence]))
	}
	return out
}

// fullPresence returns the presence of every client the channel knows of,
// to one user (XEP-0405 §2.9.3: "the MIX channel will send [...] presence
// for all of the items in the presence node").
func (c *channel) fullPresence(to recipient) []outgoing {
	var out []outgoing
	only := []recipient{to}
	for _, p := range c.members {
		for i := range p.clients {
			cl := &p.clients[i]
			out = append(out, c.presenceOf(p, cl, typeAvailable, cl.content, only))
		}
	}
	return out
}

// presenceOf renders the presence of p's client cl, of type typ, with
// content, to recipients: from the encoded participant JID with the
// client's resource, with <mix xmlns='urn:xmpp:mix:presence:0'/> holding
// the client's full JID and p's nick (XEP-0403 §4.1).
func (c *channel) presenceOf(p *participant, cl *client, typ string, content []byte, to []recipient) outgoing {
	b, at := stanzaStart(kindPresence, cl.from, newStanzaID(), typ)
	b = append(b, '>')
	b = appendOpen(b, "mix", ns.MIXPresence)
	b = append(b, '>')
	b = appendText(b, "jid", cl.jid.String())
	if p.nick != "" {
		b = appendText(b, "nick", p.nick)
	}
	b = append(b, "</mix>"...)
	b = append(b, content...)
	b = stanzaEnd(b, kindPresence)
	return outgoing{raw: b, at: at, to: to}
}

// client returns the index of p's client full, or -1.
func (p *participant) client(full jid.JID) int {
	for i := range p.clients {
		if p.clients[i].jid.Equal(full) {
			return i
		}
	}
	return -1
}
