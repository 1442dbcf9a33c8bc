package cluster_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
)

// Sessions of the router kit's JIDs, spread over the nodes.
var (
	hag66Laptop = jid.MustParse("hag66@shakespeare.example/UUID-a1j/7533")
	hag66Phone  = jid.MustParse("hag66@shakespeare.example/UUID-x4r/2491")
	hag01Laptop = jid.MustParse("hag01@shakespeare.example/UUID-c8y/1573")
)

// routerCluster starts three nodes with hag66's two sessions on node 1,
// hag01's on node 2, and nothing on node 0, whose router is under test.
func routerCluster(t *testing.T) []testNode {
	nodes := startNodes(t, 3)
	for _, b := range []struct {
		node    int
		session jid.JID
	}{{1, hag66Laptop}, {1, hag66Phone}, {2, hag01Laptop}} {
		require.NoError(t, nodes[b.node].Add(t.Context(), host.Resource{JID: b.session}))
		// Node 0 routes by its copy: wait until it lists the session.
		waitListed(t, nodes[0], b.session)
	}
	return nodes
}

// waitListed waits until node lists session, which its watch delivers.
func waitListed(t *testing.T, n testNode, session jid.JID) {
	t.Helper()
	limit := waitLimit(t)
	for {
		changed := n.applied() // before reading, so that no change is missed
		rs, err := n.Resources(t.Context(), session.Bare())
		require.NoError(t, err)
		for _, r := range rs {
			if r.JID.Equal(session) {
				return
			}
		}
		select {
		case <-changed:
		case <-limit:
			t.Fatalf("node %s never listed %s", n.ID(), session)
		}
	}
}

// delivered waits until the nodes together have delivered at least want
// stanzas to to, and returns them (a JID is delivered on one node only).
func delivered(ctx context.Context, nodes []testNode, to jid.JID, want int) ([][]byte, error) {
	for {
		var all [][]byte
		var waits []<-chan struct{}
		for _, n := range nodes {
			waits = append(waits, n.local.wait())
			all = append(all, n.local.to(to)...)
		}
		if len(all) >= want {
			return all, nil
		}
		select {
		case <-waits[0]:
		case <-waits[1]:
		case <-waits[2]:
		case <-ctx.Done():
			return all, fmt.Errorf("%d of %d stanzas delivered to %s: %w", len(all), want, to, ctx.Err())
		}
	}
}

// TestRouter runs the router kit against node 0 of three: stanzas for
// hag66's and hag01's sessions cross to nodes 1 and 2, stanzas for the
// bare JID stay on node 0.
func TestRouter(t *testing.T) {
	hosttest.RunRouter(t, func(t *testing.T) hosttest.RouterHarness {
		nodes := routerCluster(t)
		return hosttest.RouterHarness{
			Router: nodes[0].Node,
			Delivered: func(ctx context.Context, to jid.JID, n int) ([][]byte, error) {
				return delivered(ctx, nodes, to, n)
			},
		}
	})
}

// TestRouterCrossesToSessionNode checks where each stanza goes: to the
// local router of the node the session is bound on, and nowhere else.
func TestRouterCrossesToSessionNode(t *testing.T) {
	nodes := routerCluster(t)
	bare := hag66Laptop.Bare()
	for _, tc := range []struct {
		to   jid.JID
		node int
	}{
		{hag66Laptop, 1},
		{hag66Phone, 1},
		{hag01Laptop, 2},
		{bare, 0}, // bare JIDs: the local host decides
		{jid.MustParse("coven@mix.shakespeare.example"), 0},  // not a session: local
		{jid.MustParse("hag66@shakespeare.example/gone"), 0}, // no such session: local
	} {
		raw := fmt.Sprintf(`<message to=%q id="x"/>`, tc.to)
		require.NoError(t, host.RouteBytes(t.Context(), nodes[0].Node, tc.to, []byte(raw)))
		got, err := delivered(t.Context(), nodes, tc.to, 1)
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.Len(t, nodes[tc.node].local.to(tc.to), 1, "stanza for %s delivered on node %d", tc.to, tc.node)
	}
}
