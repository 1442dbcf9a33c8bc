package mixservice

import (
	"time"

	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/ns"
)

// This file serves the participants and info nodes (XEP-0369 §4.7.3,
// §4.7.4) with pubsub: reads (§6.5, §6.6) and participants node
// notifications (§7.1.2, §7.1.3).

// nsPubSubEvent is the namespace of pubsub notifications (XEP-0060 §7.1.2).
const nsPubSubEvent = "http://jabber.org/protocol/pubsub#event"

// nsDataForms is the namespace of XEP-0004 data forms (the info node's
// item).
const nsDataForms = "jabber:x:data"

// appendParticipantItem appends p's item of the participants node: its
// Stable Participant ID as item id, its nick and its real JID (the
// channels here are JID-visible).
func appendParticipantItem(dst []byte, p *participant) []byte {
	dst = append(dst, "<item"...)
	dst = appendAttr(dst, "id", p.id)
	dst = append(dst, '>')
	dst = appendOpen(dst, "participant", ns.MIXCore)
	dst = append(dst, '>')
	if p.nick != "" {
		dst = appendText(dst, "nick", p.nick)
	}
	dst = appendText(dst, "jid", p.jid.String())
	return append(dst, "</participant></item>"...)
}

// notifyParticipants returns the pubsub notification of the participants
// node holding items (serialised) to the node's subscribers.
func (c *channel) notifyParticipants(items []byte) outgoing {
	b, at := stanzaStart(kindMessage, c.jid, newStanzaID(), "")
	b = append(b, '>')
	b = appendOpen(b, "event", nsPubSubEvent)
	b = append(b, "><items"...)
	b = appendAttr(b, "node", nodeNames[nodeParticipants])
	b = append(b, '>')
	b = append(b, items...)
	b = append(b, "</items></event>"...)
	b = stanzaEnd(b, kindMessage)
	return outgoing{raw: b, at: at, to: c.subscribers[nodeParticipants]}
}

// publishParticipant returns the notification that p's item was published
// (on join and on a nick change).
func (c *channel) publishParticipant(p *participant) outgoing {
	return c.notifyParticipants(appendParticipantItem(nil, p))
}

// retractParticipant returns the notification that p's item was retracted
// (on leave, §7.1.3).
func (c *channel) retractParticipant(p *participant) outgoing {
	b := append([]byte(nil), "<retract"...)
	b = appendAttr(b, "id", p.id)
	return c.notifyParticipants(append(b, "/>"...))
}

// nodeItems answers a pubsub items request: the participants node for
// participants, the info node for anyone (what a user may want to read
// before joining), no items for the messages node, which keeps none
// (§4.7.2). The presence node is not read with pubsub (XEP-0403 §3.5
// "Clients MUST NOT directly access the presence node using pubsub"), and
// the rest of pubsub is not implemented.
func (s *Service) nodeItems(in *inbound, req request) handler {
	var itemsNode string
	found := false
	for _, ch := range req.children {
		if ch.name.Space == nsPubSub && ch.name.Local == "items" {
			itemsNode, found = attr(ch.attr, "node")
			break
		}
	}
	if !found || len(req.children) != 1 {
		return in.refuse(stanzaError(stanza.FeatureNotImplemented, "this channel answers pubsub <items/> requests only"))
	}
	n, ok := nodeNamed(itemsNode)
	switch {
	case !ok:
		return in.refuse(stanzaError(stanza.ItemNotFound, "the channel has no node "+itemsNode))
	case n == nodePresence:
		return in.refuse(stanzaError(stanza.NotAllowed, "the presence node is not read with pubsub: send presence to the channel to get it (XEP-0405 §2.9.3)"))
	}
	return onChannel(in, func(c *channel) []outgoing {
		b := appendOpen(nil, "pubsub", nsPubSub)
		b = append(b, "><items"...)
		b = appendAttr(b, "node", itemsNode)
		b = append(b, '>')
		switch n {
		case nodeParticipants:
			if c.participantOf(in.from) == nil {
				return fail(in, stanza.Forbidden, "only participants may read the participants of the channel")
			}
			for _, p := range c.members {
				b = appendParticipantItem(b, p)
			}
		case nodeInfo:
			b = c.appendInfoItem(b)
		}
		return answer(in, append(b, "</items></pubsub>"...))
	})
}

// appendInfoItem appends the info node's one item (§4.7.4): named by the
// time it was created, with the channel's name.
func (c *channel) appendInfoItem(dst []byte) []byte {
	dst = append(dst, "<item"...)
	dst = appendAttr(dst, "id", c.created.Format(time.RFC3339))
	dst = append(dst, '>')
	dst = appendOpen(dst, "x", nsDataForms)
	dst = appendAttr(dst, "type", "result")
	dst = append(dst, `><field var="FORM_TYPE" type="hidden">`...)
	dst = appendText(dst, "value", ns.MIXCore)
	dst = append(dst, `</field><field var="Name">`...)
	dst = appendText(dst, "value", c.name)
	return append(dst, "</field></x></item>"...)
}
