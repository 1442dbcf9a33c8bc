package mixservice

import (
	"slices"
	"time"

	"golang.org/x/text/secure/precis"
	"mellium.im/xmpp/jid"
)

// This file holds a channel's state. Everything here runs with Service.mu
// held.

// node is one of the channel nodes a participant can subscribe to.
type node uint8

// The nodes of MIX core (XEP-0369 §4.7) and MIX presence (XEP-0403 §3.5).
const (
	nodeMessages node = iota
	nodePresence
	nodeParticipants
	nodeInfo
	nodeCount
)

// nodeNames are the nodes' names, by node.
var nodeNames = [nodeCount]string{
	nodeMessages:     "urn:xmpp:mix:nodes:messages",
	nodePresence:     "urn:xmpp:mix:nodes:presence",
	nodeParticipants: "urn:xmpp:mix:nodes:participants",
	nodeInfo:         "urn:xmpp:mix:nodes:info",
}

// nodeNamed returns the node called name.
func nodeNamed(name string) (node, bool) {
	for n, s := range nodeNames {
		if s == name {
			return node(n), true
		}
	}
	return 0, false
}

// nodeSet is a set of nodes.
type nodeSet uint8

func (s nodeSet) has(n node) bool            { return s&(1<<n) != 0 }
func (s nodeSet) with(n node) nodeSet        { return s | 1<<n }
func (s nodeSet) gained(old nodeSet) nodeSet { return s &^ old }

// channel is a MIX channel.
type channel struct {
	jid     jid.JID // bare
	name    string  // the localpart
	owner   jid.JID // bare JID of the creator
	adHoc   bool
	created time.Time

	members []*participant          // in the order they joined
	byJID   map[string]*participant // by bare JID
	byID    map[string]*participant // by Stable Participant ID
	byNick  map[string]*participant // by PRECIS comparison key of the nick

	// subscribers lists, for each node, the bare JIDs of the participants
	// subscribed to it, in join order. A list is replaced, never modified,
	// when it changes, so that queued stanzas may keep it as recipients.
	subscribers [nodeCount][]recipient

	out outbox
}

// participant is a user who joined a channel.
type participant struct {
	id        string
	jid       jid.JID   // bare
	to        recipient // the bare JID, to send to
	encoded   jid.JID   // id#channel@service (XEP-0403 §3.2)
	inChannel jid.JID   // channel@service/id, the from of its messages (XEP-0369 §7.1.6)
	nick      string
	nodes     nodeSet
	clients   []client // clients whose presence the channel keeps, in arrival order
}

// client is the presence of one of a participant's clients (XEP-0403 §3.5:
// an item of the presence node).
type client struct {
	jid     jid.JID // the client's full JID
	from    jid.JID // id#channel@service/resource
	content []byte  // the presence's children, serialised
}

func newChannel(name string, j, owner jid.JID, adHoc bool) *channel {
	return &channel{
		jid:     j,
		name:    name,
		owner:   owner,
		adHoc:   adHoc,
		created: time.Now().UTC(),
		byJID:   make(map[string]*participant),
		byID:    make(map[string]*participant),
		byNick:  make(map[string]*participant),
	}
}

// participantOf returns the participant whose user j (any JID of the user)
// is, or nil.
func (c *channel) participantOf(j jid.JID) *participant {
	if c == nil {
		return nil
	}
	return c.byJID[j.Bare().String()]
}

// add makes p a participant.
func (c *channel) add(p *participant) {
	c.members = append(c.members, p)
	c.byJID[p.jid.String()] = p
	c.byID[p.id] = p
	c.setNick(p, p.nick)
	c.subscriptionsChanged()
}

// remove ends p's participation. p keeps its fields, for the notifications
// of its leaving.
func (c *channel) remove(p *participant) {
	c.members = slices.DeleteFunc(c.members, func(q *participant) bool { return q == p })
	delete(c.byJID, p.jid.String())
	delete(c.byID, p.id)
	c.releaseNick(p)
	c.subscriptionsChanged()
}

// releaseNick makes p's nick free for others.
func (c *channel) releaseNick(p *participant) {
	if p.nick != "" && c.byNick[nickKey(p.nick)] == p {
		delete(c.byNick, nickKey(p.nick))
	}
}

// setNick gives p the nick (already normalised and free), "" for none.
func (c *channel) setNick(p *participant, nick string) {
	c.releaseNick(p)
	p.nick = nick
	if nick != "" {
		c.byNick[nickKey(nick)] = p
	}
}

// nickTaken reports whether another participant than p has nick.
func (c *channel) nickTaken(nick string, p *participant) bool {
	q, ok := c.byNick[nickKey(nick)]
	return ok && q != p
}

// subscriptionsChanged rebuilds the subscriber lists.
func (c *channel) subscriptionsChanged() {
	for n := range nodeCount {
		var list []recipient
		for _, p := range c.members {
			if p.nodes.has(n) {
				list = append(list, p.to)
			}
		}
		c.subscribers[n] = list
	}
}

// normaliseNick applies the PRECIS Nickname profile (RFC 8266), as
// XEP-0369 §7.1.4 and §9 ask. It returns "" for a nick that the profile
// rejects or that normalises to nothing.
func normaliseNick(nick string) string {
	n, err := precis.Nickname.String(nick)
	if err != nil {
		return ""
	}
	return n
}

// nickKey is the form in which two nicks that RFC 8266 §2.4 calls equal are
// equal.
func nickKey(nick string) string {
	k, err := precis.Nickname.CompareKey(nick)
	if err != nil {
		return nick // nicks are normalised before they get here
	}
	return k
}
