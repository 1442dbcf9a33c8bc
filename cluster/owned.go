package cluster

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"mellium.im/xmpp/jid"
)

// Owned is a stanza, or an event, that one node hands to the node owning
// its key (see Owner): the host's per-user work for a user runs on the
// user's owner node only, whichever node the traffic reached first.
type Owned struct {
	// Key is the bare JID whose owner takes the stanza: a user, or the
	// domain of a service that runs on one node at a time.
	Key jid.JID
	// To is the recipient, as the host would route it.
	To jid.JID
	// Kind tells the owner what to do with Raw; the host chooses the
	// kinds (letters, digits, '-' and '_'), the cluster only carries them.
	Kind string
	// Raw is the stanza, serialised as for host.RawRouter.RouteRaw; it
	// may be empty for an event that carries no stanza.
	Raw []byte
}

// OwnedHandler takes what other nodes hand to this node as an owner. It
// is called from one goroutine, in the order one node sent them; it must
// not block for long (it holds up the owner traffic from every node), and
// must not keep o.Raw after it returns.
type OwnedHandler func(ctx context.Context, o Owned)

// Headers of an owned message.
const (
	keyHeader  = "Mixpam-Key"
	kindHeader = "Mixpam-Kind"
)

// ToOwner hands o to the live node that owns o.Key, unless that is this
// node: it reports false, having sent nothing, when this node is the owner
// (or sees no live node at all), and the caller handles o itself. Stanzas
// one node hands to one owner arrive in the order they were handed over.
//
// Delivery is core NATS, at most once: an owner that dies before its
// heartbeat expires loses what was sent to it meanwhile, as a stanza to a
// session on a dying node is lost (see the package README).
func (n *Node) ToOwner(_ context.Context, o Owned) (bool, error) {
	owner := n.Owner(o.Key)
	if owner == "" || owner == n.id {
		return false, nil
	}
	msg := &nats.Msg{Subject: n.ownedSubject(owner), Data: o.Raw, Header: nats.Header{
		keyHeader:  {o.Key.Bare().String()},
		toHeader:   {o.To.String()},
		kindHeader: {o.Kind},
	}}
	if err := n.nc.PublishMsg(msg); err != nil {
		return false, fmt.Errorf("cluster: handing %s for %s to its owner %s: %w", o.Kind, o.Key, owner, err)
	}
	return true, nil
}

func (n *Node) ownedSubject(node string) string { return n.cfg.Prefix + ".owned." + node }

// deliverOwned passes an owned message from another node to
// Config.Owned.
func (n *Node) deliverOwned(m *nats.Msg) {
	key, err1 := jid.Parse(m.Header.Get(keyHeader))
	to, err2 := jid.Parse(m.Header.Get(toHeader))
	if err1 != nil || err2 != nil {
		n.log.Warn("cluster: unreadable owned message from another node")
		return
	}
	n.cfg.Owned(n.ctx, Owned{Key: key, To: to, Kind: m.Header.Get(kindHeader), Raw: m.Data})
}
