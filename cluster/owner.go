package cluster

import (
	"context"
	"hash/fnv"
	"slices"

	"mellium.im/xmpp/jid"
)

// Owner returns the ID of the node that owns user's per-user state (the
// presence cache, roster lock stripes and join lanes of one process today):
// the live node with the highest rendezvous score for the user's bare JID,
// as this node sees the live nodes. Every node that sees the same live
// nodes names the same owner, and when a node joins or dies only the users
// it wins or owned change owner (about 1/N of them); the others stay put.
// It returns "" when this node sees no live node, not even itself (before
// its first heartbeat reached its own watch).
//
// Ownership follows liveness: a node that died owns its users until its
// heartbeat expires (Config.HeartbeatTTL), and nodes that have not yet
// seen a change may name different owners for a moment. See the package
// README for what the library's per-user state does while ownership
// moves.
func (n *Node) Owner(user jid.JID) string {
	return owner(n.ownerCandidates(), user.Bare().String())
}

// owner picks the node with the highest score(node, bare). The score must
// be the same in every process, so it is FNV-1a (hash/fnv) finished with
// splitmix64's mixer, which spreads FNV's similar outputs for similar
// inputs (node IDs differ in a few characters) over all 64 bits.
func owner(live []string, bare string) string {
	var best string
	var bestScore uint64
	for _, node := range live {
		h := fnv.New64a()
		_, _ = h.Write([]byte(node))
		_, _ = h.Write([]byte{0})
		_, _ = h.Write([]byte(bare))
		if s := mix64(h.Sum64()); best == "" || s > bestScore {
			best, bestScore = node, s
		}
	}
	return best
}

// mix64 is the finaliser of splitmix64.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// LiveNodes returns the IDs of the nodes this node sees alive, sorted.
func (n *Node) LiveNodes() []string { return slices.Clone(n.reg.liveNodes()) }

// WaitLive waits until this node sees count live nodes (itself included)
// and Config.Moved has returned for what it saw change, or ctx
// ends: a host that starts several nodes at once waits for them to see
// each other, so that they agree on owners from the start.
func (n *Node) WaitLive(ctx context.Context, count int) error {
	for {
		n.reg.mu.RLock()
		live, changed := len(n.reg.live), n.reg.changed
		done := n.reg.movedVer >= n.reg.liveVer
		n.reg.mu.RUnlock()
		if live == count && done {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
