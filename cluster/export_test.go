package cluster

// Kill stops n as a crash does: no goodbye, no more heartbeats.
func Kill(n *Node) { n.stop() }
