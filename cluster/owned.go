package cluster

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

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
	// revHeader carries the sessions revision the sending node had
	// applied: the owner applies it too before it handles the message, so
	// it sees the sessions as the sender did (a MIX capability just
	// recorded, a session just bound).
	revHeader = "Mixpam-Rev"
)

// maxRevWait bounds how long the owner waits for its copy of the sessions
// to catch up with the sender's; past it, the owner goes on with what it
// has.
const maxRevWait = time.Second

// ToOwner hands o to the live node that owns o.Key, unless that is this
// node: it reports false, having sent nothing, when this node is the owner
// (or sees no live node at all), and the caller handles o itself. What one
// node hands to one owner arrives in the order it was handed over.
//
// The owner acknowledges each message as it takes it. A node that died
// has no subscription left, so NATS answers "no responders" at once: the
// sender then takes that node for dead (ahead of its heartbeat's expiry,
// for owner choice only), and hands the message to the next owner in
// rendezvous order, possibly itself (then it calls Config.Owned). So a
// user's traffic is not lost for the heartbeat TTL a dead owner still
// counts as alive. What the owner had taken when it died is lost, as a
// stanza in any server's memory is.
func (n *Node) ToOwner(_ context.Context, o Owned) (bool, error) {
	owner := n.Owner(o.Key)
	if owner == "" || owner == n.id {
		return false, nil
	}
	o.Raw = slices.Clone(o.Raw)
	n.ownedMu.Lock()
	n.ownedSeq++
	seq := n.ownedSeq
	n.pending[seq] = pendingOwned{o: o, owner: owner, at: time.Now()}
	n.ownedMu.Unlock()
	msg := &nats.Msg{Subject: n.ownedSubject(owner), Reply: n.ackSubject(seq), Data: o.Raw, Header: nats.Header{
		keyHeader:  {o.Key.Bare().String()},
		toHeader:   {o.To.String()},
		kindHeader: {o.Kind},
		revHeader:  {strconv.FormatUint(n.reg.appliedRev(), 10)},
	}}
	if err := n.nc.PublishMsg(msg); err != nil {
		n.ownedMu.Lock()
		delete(n.pending, seq)
		n.ownedMu.Unlock()
		return false, fmt.Errorf("cluster: handing %s for %s to its owner %s: %w", o.Kind, o.Key, owner, err)
	}
	return true, nil
}

// pendingOwned is a message handed to an owner that has not acknowledged
// it yet.
type pendingOwned struct {
	o     Owned
	owner string
	at    time.Time
}

// forgetStale drops what a live owner has not acknowledged for two
// heartbeat TTLs (an acknowledgement lost while the connection
// reconnected): the owner was alive, so it most likely took it, and
// handing it over again could duplicate it.
func (n *Node) forgetStale() {
	limit := time.Now().Add(-2 * n.cfg.HeartbeatTTL)
	n.ownedMu.Lock()
	defer n.ownedMu.Unlock()
	for seq, p := range n.pending {
		if p.at.Before(limit) {
			delete(n.pending, seq)
		}
	}
}

func (n *Node) ackSubject(seq uint64) string {
	return n.cfg.Prefix + ".ack." + n.id + "." + strconv.FormatUint(seq, 10)
}

// deliverAck takes an owner's acknowledgement, or NATS' "no responders"
// for an owner that is gone, of the message with the subject's sequence
// number.
func (n *Node) deliverAck(m *nats.Msg) {
	seq, err := strconv.ParseUint(m.Subject[strings.LastIndexByte(m.Subject, '.')+1:], 10, 64)
	if err != nil {
		return
	}
	n.ownedMu.Lock()
	p, ok := n.pending[seq]
	delete(n.pending, seq)
	n.ownedMu.Unlock()
	if !ok || len(m.Data) > 0 || m.Header.Get("Status") != "503" { // nats.go's "no responders"
		return
	}
	n.suspect(p.owner)
	n.log.Info("cluster: owner gone, handing over to the next", "owner", p.owner, "key", p.o.Key.String())
	n.rehand(p.o)
}

// rehand hands o to its owner again, or handles it here.
func (n *Node) rehand(o Owned) {
	sent, err := n.ToOwner(n.ctx, o)
	if err != nil {
		n.log.Warn("cluster: handing over again", "key", o.Key.String(), "err", err)
	}
	if !sent {
		n.cfg.Owned(n.ctx, o)
	}
}

// rehandTo hands again what node, now dead, had not acknowledged.
func (n *Node) rehandTo(node string) {
	n.ownedMu.Lock()
	var again []Owned
	for seq, p := range n.pending {
		if p.owner == node {
			again = append(again, p.o)
			delete(n.pending, seq)
		}
	}
	n.ownedMu.Unlock()
	for _, o := range again {
		n.rehand(o)
	}
}

// suspect takes node for dead when choosing owners, for one heartbeat TTL
// (by then its heartbeat has expired, or it answers again).
func (n *Node) suspect(node string) {
	n.ownedMu.Lock()
	n.suspects[node] = time.Now().Add(n.cfg.HeartbeatTTL)
	n.ownedMu.Unlock()
}

// ownerCandidates returns the live nodes that are not suspected.
func (n *Node) ownerCandidates() []string {
	live := n.reg.liveNodes()
	n.ownedMu.Lock()
	defer n.ownedMu.Unlock()
	if len(n.suspects) == 0 {
		return live
	}
	now := time.Now()
	out := make([]string, 0, len(live))
	for _, node := range live {
		if until, ok := n.suspects[node]; ok {
			if now.Before(until) {
				continue
			}
			delete(n.suspects, node)
		}
		out = append(out, node)
	}
	return out
}

func (n *Node) ownedSubject(node string) string { return n.cfg.Prefix + ".owned." + node }

// deliverOwned passes an owned message from another node to
// Config.Owned.
func (n *Node) deliverOwned(m *nats.Msg) {
	if m.Reply != "" {
		_ = m.Respond(nil)
	}
	key, err1 := jid.Parse(m.Header.Get(keyHeader))
	to, err2 := jid.Parse(m.Header.Get(toHeader))
	if err1 != nil || err2 != nil {
		n.log.Warn("cluster: unreadable owned message from another node")
		return
	}
	if rev, err := strconv.ParseUint(m.Header.Get(revHeader), 10, 64); err == nil {
		ctx, cancel := context.WithTimeout(n.ctx, maxRevWait)
		err := n.reg.waitApplied(ctx, rev)
		cancel()
		if err != nil && n.ctx.Err() == nil {
			n.log.Warn("cluster: sessions copy behind the sender's", "rev", rev, "err", err)
		}
	}
	n.cfg.Owned(n.ctx, Owned{Key: key, To: to, Kind: m.Header.Get(kindHeader), Raw: m.Data})
}
