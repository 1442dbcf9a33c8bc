package mixservice

import (
	"strconv"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/ns"
)

// This file handles participation: join, leave, setnick and
// update-subscription (XEP-0369 §7.1.2–§7.1.4).

// subscriptionRequest is the list of <subscribe/> (or <unsubscribe/>)
// elements of a request.
type subscriptionRequest struct {
	nodes     []node  // the known nodes asked for, in request order, once each
	set       nodeSet // the same, as a set
	requested int     // elements asked for, known nodes or not
	unknown   string  // the first node asked for that does not exist
}

// readSubscriptions reads the children called local (subscribe or
// unsubscribe) of a request.
func readSubscriptions(children []child, local string) subscriptionRequest {
	var r subscriptionRequest
	for _, ch := range children {
		if ch.name.Space != ns.MIXCore || ch.name.Local != local {
			continue
		}
		r.requested++
		name, _ := attr(ch.attr, "node")
		n, ok := nodeNamed(name)
		switch {
		case !ok && r.unknown == "":
			r.unknown = name
		case ok && !r.set.has(n):
			r.set = r.set.with(n)
			r.nodes = append(r.nodes, n)
		}
	}
	return r
}

// appendNodes appends an element called local (subscribe or unsubscribe)
// for each node.
func appendNodes(dst []byte, local string, nodes []node) []byte {
	for _, n := range nodes {
		dst = append(dst, '<')
		dst = append(dst, local...)
		dst = appendAttr(dst, "node", nodeNames[n])
		dst = append(dst, "/>"...)
	}
	return dst
}

// childText returns the text of the first child called local in MIX core,
// and whether there is one.
func childText(children []child, local string) (string, bool) {
	for _, ch := range children {
		if ch.name.Space == ns.MIXCore && ch.name.Local == local {
			return ch.text, true
		}
	}
	return "", false
}

// readNick reads the <nick/> of a request and normalises it. It returns
// why the nick cannot be used, if it cannot.
func (s *Service) readNick(children []child) (nick string, given bool, problem string) {
	raw, given := childText(children, "nick")
	if !given {
		return "", false, ""
	}
	nick = normaliseNick(raw)
	switch {
	case nick == "":
		return "", true, "the nick is empty or not allowed by the PRECIS Nickname profile (RFC 8266)"
	case len(nick) > s.limits.NickBytes:
		return "", true, "nicks are at most " + strconv.Itoa(s.limits.NickBytes) + " bytes long"
	}
	return nick, true, ""
}

// join answers a join (§7.1.2), which the user's server sends from the
// user's bare JID (XEP-0405 §2.7). A participant who joins again keeps its
// Stable Participant ID and nick (unless it gives a new one) and gets the
// nodes it asks for now.
func (s *Service) join(in *inbound, req request) handler {
	if in.from.Resourcepart() != "" {
		return in.refuse(stanzaError(stanza.NotAllowed, "join through your own server (XEP-0405 client-join): a channel takes joins from the user's bare JID only"))
	}
	subs := readSubscriptions(req.children, "subscribe")
	if subs.requested > 0 && len(subs.nodes) == 0 {
		return in.refuse(stanzaError(stanza.ItemNotFound, "the channel has no node "+subs.unknown))
	}
	nick, nickGiven, problem := s.readNick(req.children)
	if problem != "" {
		return in.refuse(stanzaError(stanza.NotAcceptable, problem))
	}
	user := in.from.Bare()
	return onChannel(in, func(c *channel) []outgoing {
		p := c.participantOf(user)
		joining := p == nil
		switch {
		case !nickGiven && (joining || p.nick == ""):
			return fail(in, stanza.NotAcceptable, "this channel requires a nick: add <nick/> to the join")
		case nickGiven && c.nickTaken(nick, p):
			return fail(in, stanza.Conflict, "the nick "+nick+" is taken in this channel")
		case joining && len(c.members) >= s.limits.Participants:
			return fail(in, stanza.ResourceConstraint, "the channel is full ("+strconv.Itoa(s.limits.Participants)+" participants)")
		}
		oldNick, oldNodes := "", nodeSet(0)
		if joining {
			var problem string
			if p, problem = s.newParticipant(c, user); problem != "" {
				return fail(in, stanza.InternalServerError, problem)
			}
			p.nick, p.nodes = nick, subs.set
			c.add(p)
		} else {
			oldNick, oldNodes = p.nick, p.nodes
			if nickGiven {
				c.setNick(p, nick)
			}
			p.nodes = subs.set
			c.subscriptionsChanged()
		}
		s.log.Debug("mixservice: joined", "channel", c.jid, "user", user, "id", p.id)

		b := appendOpen(nil, "join", ns.MIXCore)
		b = appendAttr(b, "id", p.id)
		b = appendAttr(b, "jid", p.encoded.String())
		b = append(b, '>')
		b = appendNodes(b, "subscribe", subs.nodes)
		b = appendText(b, "nick", p.nick)
		b = append(b, "</join>"...)
		out := answer(in, b)
		if p.nick != oldNick {
			out = append(out, c.publishParticipant(p))
			if !joining {
				out = append(out, c.presenceOfClients(p)...)
			}
		}
		if p.nodes.gained(oldNodes).has(nodePresence) {
			out = append(out, c.fullPresence(p.to)...)
		}
		return out
	})
}

// newParticipant returns a participant of c for user, without a nick or
// nodes, or why there cannot be one.
func (s *Service) newParticipant(c *channel, user jid.JID) (*participant, string) {
	id := participantID(s.secret, c.jid, user)
	if c.byID[id] != nil {
		return nil, "participant id collision; this should not happen"
	}
	// The encoded participant JID, participant#channel@service (XEP-0403
	// §3.2): the channel's to make, so the stand-in channel makes it itself.
	encoded, err := c.jid.WithLocal(id + "#" + c.jid.Localpart())
	if err != nil {
		return nil, "cannot build the participant's JID: " + err.Error()
	}
	inChannel, err := c.jid.WithResource(id)
	if err != nil {
		return nil, "cannot build the participant's JID: " + err.Error()
	}
	return &participant{id: id, jid: user, to: newRecipient(user), encoded: encoded, inChannel: inChannel}, ""
}

// leave answers a leave (§7.1.3), sent from the user's bare JID (XEP-0405
// §2.8). Leaving a channel one is not in, or one that does not exist
// (destroyed, say), succeeds: the user is not a participant afterwards, as
// asked, and the user's server can take the channel out of the roster.
func (s *Service) leave(in *inbound, _ request) handler {
	if in.from.Resourcepart() != "" {
		return in.refuse(stanzaError(stanza.NotAllowed, "leave through your own server (XEP-0405 client-leave): a channel takes leaves from the user's bare JID only"))
	}
	return func(c *channel) []outgoing {
		out := answer(in, append(appendOpen(nil, "leave", ns.MIXCore), "/>"...))
		p := c.participantOf(in.from)
		if p == nil {
			return out
		}
		c.remove(p)
		s.log.Debug("mixservice: left", "channel", c.jid, "user", p.jid, "id", p.id)
		out = append(out, c.retractParticipant(p))
		return append(out, c.clientsGone(p)...)
	}
}

// setNick answers a setnick (§7.1.4). The service assigns no nicks, so an
// empty one is refused.
func (s *Service) setNick(in *inbound, req request) handler {
	nick, given, problem := s.readNick(req.children)
	switch {
	case !given:
		return in.refuse(stanzaError(stanza.BadRequest, "<setnick/> needs a <nick/>"))
	case problem != "":
		return in.refuse(stanzaError(stanza.NotAcceptable, problem+"; this channel does not assign nicks"))
	}
	return onChannel(in, func(c *channel) []outgoing {
		p := c.participantOf(in.from)
		switch {
		case p == nil:
			return fail(in, stanza.Forbidden, "only participants of the channel have a nick in it")
		case c.nickTaken(nick, p):
			return fail(in, stanza.Conflict, "the nick "+nick+" is taken in this channel")
		}
		changed := nick != p.nick
		c.setNick(p, nick)
		b := appendOpen(nil, "setnick", ns.MIXCore)
		b = append(b, '>')
		b = appendText(b, "nick", nick)
		out := answer(in, append(b, "</setnick>"...))
		if changed {
			out = append(out, c.publishParticipant(p))
			out = append(out, c.presenceOfClients(p)...)
		}
		return out
	})
}

// updateSubscription answers an update-subscription (§7.1.2), which comes
// from any of the user's JIDs. Unknown nodes are left out of the result;
// a node both subscribed and unsubscribed ends up unsubscribed.
func (s *Service) updateSubscription(in *inbound, req request) handler {
	subs := readSubscriptions(req.children, "subscribe")
	unsubs := readSubscriptions(req.children, "unsubscribe")
	return onChannel(in, func(c *channel) []outgoing {
		p := c.participantOf(in.from)
		if p == nil {
			return fail(in, stanza.Forbidden, "only participants of the channel can subscribe to its nodes")
		}
		old := p.nodes
		p.nodes = (old | subs.set) &^ unsubs.set
		c.subscriptionsChanged()
		b := appendOpen(nil, "update-subscription", ns.MIXCore)
		b = appendAttr(b, "jid", p.jid.String())
		b = append(b, '>')
		b = appendNodes(b, "subscribe", subs.nodes)
		b = appendNodes(b, "unsubscribe", unsubs.nodes)
		out := answer(in, append(b, "</update-subscription>"...))
		if p.nodes.gained(old).has(nodePresence) {
			out = append(out, c.fullPresence(p.to)...)
		}
		return out
	})
}
