package cluster

import "context"

// Kill stops n as a crash does: no goodbye, no more heartbeats.
func Kill(n *Node) { n.stop() }

// Applied returns a channel closed when n's copy of the sessions or of the
// live nodes next changes.
func Applied(n *Node) <-chan struct{} {
	n.reg.mu.RLock()
	defer n.reg.mu.RUnlock()
	return n.reg.changed
}

// DeleteHeartbeat deletes the heartbeat key of node id through n.
func DeleteHeartbeat(ctx context.Context, n *Node, id string) error {
	return n.nodes.Delete(ctx, id)
}
