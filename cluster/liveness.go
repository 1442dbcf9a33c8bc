package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"mellium.im/xmpp/jid"
)

// beat renews the node's heartbeat key every third of its TTL until the
// node stops.
func (n *Node) beat() {
	t := time.NewTicker(n.cfg.HeartbeatTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if n.isEvicted() {
				return // the others ignore this node's beats now
			}
			n.forgetStale()
			ctx, cancel := context.WithTimeout(n.ctx, n.cfg.HeartbeatTTL/3)
			if _, err := n.nodes.PutString(ctx, n.id, n.cfg.Name); err != nil && n.ctx.Err() == nil {
				n.log.Warn("cluster: heartbeat failed", "node", n.id, "err", err)
			}
			cancel()
		case <-n.ctx.Done():
			return
		}
	}
}

// watchNodes loads the live nodes and follows the nodes bucket until the
// node stops: when a node's heartbeat key expires or is deleted, the node
// is dead and its sessions are purged.
func (n *Node) watchNodes(ctx context.Context) error {
	w, err := n.nodes.WatchAll(n.ctx)
	if err != nil {
		return fmt.Errorf("cluster: watching nodes: %w", err)
	}
	return n.watch(ctx, w, n.applyNode, func() {
		_, ver := n.reg.liveVersion()
		n.reg.movedThrough(ver) // nothing moved for this new node
	}, n.followNode)
}

// followNode applies a change of the nodes bucket after the initial load,
// and tells Config.Moved when the live nodes changed.
func (n *Node) followNode(e jetstream.KeyValueEntry) {
	before := n.reg.liveNodes()
	n.applyNode(e)
	after, ver := n.reg.liveVersion()
	if n.cfg.Moved != nil && !slices.Equal(before, after) {
		n.cfg.Moved(n.ctx, func(key jid.JID) bool {
			k := key.Bare().String()
			return owner(before, k) != owner(after, k)
		})
	}
	n.reg.movedThrough(ver)
}

func (n *Node) applyNode(e jetstream.KeyValueEntry) {
	if e.Operation() == jetstream.KeyValuePut {
		n.reg.alive(e.Key())
		return
	}
	if e.Key() != n.id {
		n.purge(e.Key())
		return
	}
	if n.closing.Load() {
		return // Close deleted it
	}
	// This node's own heartbeat expired or was deleted: it was cut off for
	// longer than the TTL, and the others have purged its sessions and
	// will ignore its writes. Say so once; the host drops its clients.
	n.evictOnce.Do(func() {
		n.log.Error("cluster: this node was declared dead by the cluster", "node", n.id)
		close(n.evicted)
	})
}

// Evicted returns a channel closed when this node sees its own heartbeat
// expire: it was cut off from NATS for longer than Config.HeartbeatTTL
// (or another node deleted its key), the other nodes have purged its
// sessions and ignore its writes, and stanzas are no longer routed to it.
// The host should end this node's client sessions, so that their clients
// reconnect (to a node that is alive), and start a new Node. Close does
// not close the channel.
func (n *Node) Evicted() <-chan struct{} { return n.evicted }

// purge drops a dead node's sessions from this node's copy at once, then
// deletes them from the bucket. Every surviving node does so; a deletion
// is conditional on the entry's revision, so a session that bound again
// meanwhile (on another node) stays.
func (n *Node) purge(node string) {
	gone, sessions := n.reg.purgeNode(node)
	n.log.Info("cluster: node dead, sessions purged", "node", node, "sessions", len(gone))
	if len(gone) > 0 {
		n.deleteStale(gone)
	}
	if n.cfg.Owned != nil {
		n.rehandTo(node)
	}
	if len(sessions) > 0 && n.cfg.Purged != nil {
		n.cfg.Purged(n.ctx, sessions)
	}
}

func (n *Node) deleteStale(gone []sessionMeta) {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.HeartbeatTTL)
	defer cancel()
	for _, m := range gone {
		if _, err := n.deleteKey(ctx, m.key, m.rev); err != nil && n.ctx.Err() == nil && !isWrongLast(err) {
			n.log.Warn("cluster: deleting a dead node's session", "node", m.node, "err", err)
		}
	}
}

// isWrongLast reports a conditional write that lost to another writer.
func isWrongLast(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// sweep deletes the sessions of nodes that died while this node was not
// watching (every node of the cluster was down, say): for each node with
// sessions in the copy, it asks the bucket for its heartbeat.
func (n *Node) sweep(ctx context.Context) {
	for _, node := range n.reg.nodes() {
		if node == n.id {
			continue
		}
		_, err := n.nodes.Get(ctx, node)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			n.purge(node)
		}
	}
}

func (n *Node) isEvicted() bool {
	select {
	case <-n.evicted:
		return true
	default:
		return false
	}
}
