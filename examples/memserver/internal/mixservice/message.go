package mixservice

import (
	"encoding/xml"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/ns"
)

// This file distributes the messages participants send to a channel
// (XEP-0369 §7.1.6).

// typeGroupchat is the type of messages to and from channels.
const typeGroupchat = "groupchat"

// prepareMessage reads a message addressed to d. A groupchat message to a
// channel is checked and rendered here, without the lock, but for what only
// the channel knows: the sender's id and nick, and the channel's stanza id.
func (s *Service) prepareMessage(in *inbound, d dest) handler {
	switch {
	case d != destChannel:
		return in.refuse(stanzaError(stanza.ServiceUnavailable, "only channels take messages here (private messages through participant JIDs are not offered)"))
	case in.typ != typeGroupchat:
		return in.refuse(stanzaError(stanza.BadRequest, "a channel takes messages of type groupchat only"))
	}
	content, err := in.appendChildren(nil, forgedByChannel(in.to))
	if err != nil {
		return in.refuse(stanzaError(stanza.BadRequest, err.Error()))
	}
	return onChannel(in, func(c *channel) []outgoing {
		p := c.participantOf(in.from)
		if p == nil {
			return fail(in, stanza.Forbidden, "only participants may send messages to the channel; join it first")
		}
		return []outgoing{c.reflect(p, in.lang, content)}
	})
}

// reflect returns the message p sent, with children content, as the
// channel distributes it to the subscribers of its messages node: from
// channel@service/participant-id, with the channel's own id as message id
// and stanza-id (§7.1.6: "The id of the message is the ID from the MAM
// archive and NOT the id used by the sender"), and with the sender's nick
// and real bare JID in <mix/>.
func (c *channel) reflect(p *participant, lang string, content []byte) outgoing {
	id := newStanzaID()
	b, at := stanzaStart(kindMessage, p.inChannel, id, typeGroupchat)
	if lang != "" {
		b = appendAttr(b, "xml:lang", lang)
	}
	b = append(b, '>')
	b = append(b, content...)
	b = appendOpen(b, "stanza-id", ns.StanzaID)
	b = appendAttr(b, "id", id)
	b = appendAttr(b, "by", c.jid.String())
	b = append(b, "/>"...)
	b = appendOpen(b, "mix", ns.MIXCore)
	b = append(b, '>')
	if p.nick != "" {
		b = appendText(b, "nick", p.nick)
	}
	b = appendText(b, "jid", p.jid.String())
	b = append(b, "</mix>"...)
	b = stanzaEnd(b, kindMessage)
	return outgoing{raw: b, at: at, to: c.subscribers[nodeMessages]}
}

// forgedByChannel reports the children of a message to channel that only
// the channel may write: a <mix/> of MIX core (§7.1.6) and a stanza-id by
// the channel (XEP-0359 §3 rule 2: "MUST delete that element").
func forgedByChannel(channel jid.JID) func(xml.StartElement) bool {
	return func(e xml.StartElement) bool {
		switch e.Name {
		case xml.Name{Space: ns.MIXCore, Local: "mix"}:
			return true
		case xml.Name{Space: ns.StanzaID, Local: "stanza-id"}:
			by, _ := attr(e.Attr, "by")
			j, err := jid.Parse(by)
			return err == nil && j.Equal(channel)
		}
		return false
	}
}
