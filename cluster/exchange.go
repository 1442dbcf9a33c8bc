package cluster

import (
	"context"
	"encoding/xml"
	"fmt"
	"regexp"
	"strings"

	"github.com/nats-io/nats.go"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/internal/xmltree"
	"github.com/mixpam/mixpam/ns"
)

// Answers across nodes.
//
// An IQ that a node sends through Exchange (a client-join forwarded to a
// channel, XEP-0405 §2.7; a disco#info query for caps, XEP-0115) may be
// answered over a server-to-server connection that another node holds. The
// node tags the id of the IQ it sends with its own ID, "mx~<node>~<id>", as
// ejabberd's ejabberd_iq does; whichever node the answer reaches reads the
// tag (Receive) and forwards the answer to the node that asked, whose
// host.Exchange matches it strictly, as on one node: exactly the request's
// to as from, its from as to, and the tagged id. Exchange then returns the
// answer with the request's own id, so pam hands the client its own id
// (XEP-0405 Listing 7).
//
// The tag changes the id the channel sees: XEP-0405 §2.7 takes the id of
// the forwarded join from the client's, but the channel only echoes it
// (XEP-0369), and an id is the sender's to choose (RFC 6120 §8.1.3): on
// the wire to the channel the sender is the server. No client sees a tagged
// id. The other design, a shared table of pending requests, would keep the
// client's id on the wire but costs a key-value write per request and a
// lookup per answer, and an answer faster than the table's replication
// (about a millisecond) would be lost; the tag needs no shared state.
//
// A forged answer changes nothing: a tag only says where to look, and the
// asking node's strict match rejects what does not fit; the node then
// routes the answer on as it would any unmatched answer.

// tagPrefix starts the id of every IQ a node sends through Exchange.
const tagPrefix = "mx~"

func (n *Node) tag(id string) string { return tagPrefix + n.id + "~" + id }

// untag returns the node that tagged id, and the original id.
func untag(id string) (node, orig string, ok bool) {
	rest, ok := strings.CutPrefix(id, tagPrefix)
	if !ok {
		return "", "", false
	}
	node, orig, ok = strings.Cut(rest, "~")
	if !ok || !validNodeID(node) {
		return "", "", false
	}
	return node, orig, true
}

var validNodeID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}-[0-9a-f]{12}$`).MatchString

// Exchange implements host.Exchanger across the cluster: it sends req
// through the node's router with a tagged id and returns the answer, which
// any node of the cluster may receive (Receive), with req's own id.
func (n *Node) Exchange(ctx context.Context, req stanza.IQ, payload xml.TokenReader) (host.Response, error) {
	tagged := req
	tagged.ID = n.tag(req.ID)
	if req.ID == "" {
		tagged.ID = "" // let host.Exchange refuse it
	}
	resp, err := n.exchange.Exchange(ctx, tagged, payload)
	if err != nil {
		return host.Response{}, err
	}
	resp.IQ.ID = req.ID
	return resp, nil
}

// Headers of an answer forwarded to the node that asked.
const (
	fromHeader = "Mixpam-From"
	idHeader   = "Mixpam-Id"
	typeHeader = "Mixpam-Type"
)

// Receive offers an incoming IQ answer to the cluster, as
// host.Exchange.Receive does on one node: the host calls it for every IQ of
// type result or error before routing it anywhere else. It reports whether
// the cluster took the IQ (payload included): every answer whose id carries
// a node's tag is the cluster's. One for this node is handed to its
// Exchange, one for another live node is forwarded to that node, and one
// that matches no pending request (late, or forged by a peer that learnt
// a node's tag) is dropped, logged at debug level: tagged ids are only ever
// used on the cluster's own requests, and routing such an answer on would
// send it back to the node whose tag it carries, without end. Anything
// else is left to the host.
func (n *Node) Receive(ctx context.Context, iq stanza.IQ, payload xml.TokenReader) (bool, error) {
	if iq.Type != stanza.ResultIQ && iq.Type != stanza.ErrorIQ {
		return false, nil
	}
	node, _, ok := untag(iq.ID)
	if !ok {
		return false, nil
	}
	if node == n.id {
		taken, err := n.exchange.Receive(iq, payload)
		if err == nil && !taken {
			n.log.Debug("cluster: dropped a tagged IQ answer that matches no request", "from", iq.From.String(), "id", iq.ID)
			taken = true
		}
		return taken, err
	}
	if n.reg.isDead(node) {
		return false, nil // nobody waits for it: the host's routing decides
	}
	raw, err := xmlenc.Append(nil, payload, ns.Client)
	if err != nil {
		return false, fmt.Errorf("cluster: reading IQ answer: %w", err)
	}
	msg := &nats.Msg{Subject: n.answerSubject(node), Data: raw, Header: nats.Header{
		fromHeader: {iq.From.String()},
		toHeader:   {iq.To.String()},
		idHeader:   {iq.ID},
		typeHeader: {string(iq.Type)},
	}}
	if err := n.nc.PublishMsg(msg); err != nil {
		return false, fmt.Errorf("cluster: forwarding IQ answer to node %s: %w", node, err)
	}
	return true, nil
}

func (n *Node) answerSubject(node string) string { return n.cfg.Prefix + ".answer." + node }

// deliverAnswer takes an answer that another node received for a request
// of this node. An answer that matches no pending request is dropped (see
// Receive).
func (n *Node) deliverAnswer(m *nats.Msg) {
	from, err1 := jid.Parse(m.Header.Get(fromHeader))
	to, err2 := jid.Parse(m.Header.Get(toHeader))
	typ := stanza.IQType(m.Header.Get(typeHeader))
	if err1 != nil || err2 != nil || (typ != stanza.ResultIQ && typ != stanza.ErrorIQ) {
		n.log.Warn("cluster: unreadable IQ answer from another node")
		return
	}
	iq := stanza.IQ{From: from, To: to, ID: m.Header.Get(idHeader), Type: typ}
	taken, err := n.exchange.Receive(iq, payloadReader(m.Data))
	if err != nil {
		n.log.Warn("cluster: IQ answer from another node", "err", err)
		return
	}
	if !taken {
		n.log.Debug("cluster: dropped a tagged IQ answer that matches no request", "from", from.String(), "id", iq.ID)
	}
}

// payloadReader decodes children serialised for a jabber:client stream.
func payloadReader(raw []byte) xml.TokenReader {
	if len(raw) == 0 {
		return xmlstream.Token(nil)
	}
	d := xml.NewDecoder(xmltree.Wrap(raw, ns.Client))
	if _, err := d.Token(); err != nil {
		return xmlstream.Token(nil)
	}
	return xmlstream.Inner(d)
}
