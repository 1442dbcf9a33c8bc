package cluster_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/cluster"
	"github.com/mixpam/mixpam/host"
)

// waitLive waits until node sees exactly want (node IDs) alive.
func waitLive(t *testing.T, n testNode, want []string) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	limit := waitLimit(t)
	for {
		changed := n.applied()
		if slices.Equal(want, n.LiveNodes()) {
			return
		}
		select {
		case <-changed:
		case <-limit:
			t.Fatalf("node %s sees %v alive, want %v", n.ID(), n.LiveNodes(), want)
		}
	}
}

// TestOwner: nodes that see the same live nodes name the same owner for
// every user, spread over all of them; when a node dies, only its users
// move.
func TestOwner(t *testing.T) {
	nodes := startNodes(t, 3)
	ids := []string{nodes[0].ID(), nodes[1].ID(), nodes[2].ID()}
	for _, n := range nodes {
		waitLive(t, n, ids)
	}
	const users = 300
	user := func(i int) jid.JID { return jid.MustParse(fmt.Sprintf("user%d@shakespeare.example/r", i)) }
	before := make([]string, users)
	owned := map[string]int{}
	for i := range users {
		before[i] = nodes[0].Owner(user(i))
		require.Equal(t, before[i], nodes[0].Owner(user(i).Bare()), "the owner of a full JID is its bare JID's")
		for _, n := range nodes[1:] {
			require.Equal(t, before[i], n.Owner(user(i)), "owner of %s on node %s", user(i), n.ID())
		}
		owned[before[i]]++
	}
	for _, id := range ids {
		// Rendezvous hashing gives each of three nodes about a third.
		require.Greater(t, owned[id], users/6, "users owned by %s: %v", id, owned)
	}

	nodes[0].kill()
	for _, n := range nodes[1:] {
		waitLive(t, n, ids[1:])
	}
	for i := range users {
		after := nodes[1].Owner(user(i))
		require.Equal(t, after, nodes[2].Owner(user(i)))
		if before[i] == ids[0] {
			require.NotEqual(t, ids[0], after, "a dead node's user")
		} else {
			require.Equal(t, before[i], after, "a live node's user kept its owner when another node died")
		}
	}
}

// TestEvicted: a node whose heartbeat key goes (as after being cut off
// from NATS for longer than the TTL) learns that it is dead to the others,
// and the others purge its sessions.
func TestEvicted(t *testing.T) {
	nodes := startNodes(t, 2)
	require.NoError(t, nodes[0].Add(t.Context(), host.Resource{JID: hag66Laptop}))
	waitListed(t, nodes[1], hag66Laptop)
	select {
	case <-nodes[0].Evicted():
		t.Fatal("a live node evicted")
	default:
	}
	require.NoError(t, cluster.DeleteHeartbeat(t.Context(), nodes[1].Node, nodes[0].ID()))
	select {
	case <-nodes[0].Evicted():
	case <-waitLimit(t):
		t.Fatal("the node never learned that its heartbeat went")
	}
	waitLive(t, nodes[1], []string{nodes[1].ID()})
	rs, err := nodes[1].Resources(t.Context(), hag66Laptop.Bare())
	require.NoError(t, err)
	require.Empty(t, rs, "the evicted node's sessions on the other node")
}
