package cluster

import (
	"context"
	"encoding/xml"
	"fmt"

	"github.com/nats-io/nats.go"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
)

// toHeader carries the recipient of a stanza published to another node.
const toHeader = "Mixpam-To"

// Route implements host.Router: a stanza for a session bound on another
// node is published to that node, anything else goes to Config.Local.
func (n *Node) Route(ctx context.Context, to jid.JID, stanza xml.TokenReader) error {
	node, remote := n.remote(to)
	if !remote {
		return n.cfg.Local.Route(ctx, to, stanza)
	}
	raw, err := xmlenc.Append(nil, stanza, ns.Client)
	if err != nil {
		return fmt.Errorf("cluster: serialising stanza for %s: %w", to, err)
	}
	return n.publish(node, to, raw)
}

// RouteRaw implements host.RawRouter, as Route does.
func (n *Node) RouteRaw(ctx context.Context, to jid.JID, raw []byte) error {
	sent, err := n.RouteRemote(ctx, to, raw)
	if sent || err != nil {
		return err
	}
	return host.RouteBytes(ctx, n.cfg.Local, to, raw)
}

// RouteRemote publishes raw to the node that to, a session bound on another
// node, is bound on, and reports whether it did; for anything else it sends
// nothing and reports false. A host whose own router delivers to its local
// sessions calls it for a full JID it has no session for. raw may be reused
// once it returns.
func (n *Node) RouteRemote(_ context.Context, to jid.JID, raw []byte) (bool, error) {
	node, remote := n.remote(to)
	if !remote {
		return false, nil
	}
	return true, n.publish(node, to, raw)
}

// remote returns the node that to, a session bound on another node, is
// bound on.
func (n *Node) remote(to jid.JID) (string, bool) {
	if to.Resourcepart() == "" {
		return "", false
	}
	node, ok := n.reg.nodeOf(to)
	return node, ok && node != n.id
}

func (n *Node) publish(node string, to jid.JID, raw []byte) error {
	// PublishMsg copies raw into the connection's buffer before it returns,
	// so the caller may reuse raw (host.RawRouter).
	msg := &nats.Msg{Subject: n.subject(node), Header: nats.Header{toHeader: {to.String()}}, Data: raw}
	if err := n.nc.PublishMsg(msg); err != nil {
		return fmt.Errorf("cluster: forwarding stanza for %s to node %s: %w", to, node, err)
	}
	return nil
}

// deliver hands a stanza published to this node to Config.Local. NATS calls
// it for one message at a time, in the order they were published.
func (n *Node) deliver(m *nats.Msg) {
	to, err := jid.Parse(m.Header.Get(toHeader))
	if err != nil {
		n.log.Warn("cluster: stanza from another node without a recipient", "err", err)
		return
	}
	if err := host.RouteBytes(n.ctx, n.cfg.Local, to, m.Data); err != nil {
		n.log.Warn("cluster: delivering a stanza from another node", "to", to, "err", err)
	}
}
