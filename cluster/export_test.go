package cluster

// Kill stops n as a crash does: no goodbye, no more heartbeats.
func Kill(n *Node) { n.stop() }

// Applied returns a channel closed when n's copy of the sessions next
// changes.
func Applied(n *Node) <-chan struct{} {
	n.reg.mu.RLock()
	defer n.reg.mu.RUnlock()
	return n.reg.changed
}
