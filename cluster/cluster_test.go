package cluster_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/cluster"
	"github.com/mixpam/mixpam/cluster/clustertest"
	"github.com/mixpam/mixpam/cluster/internal/natstest"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
)

// testNode is a node of a test cluster with its local deliveries.
type testNode struct {
	*cluster.Node
	local *deliveries
	kill  func()
}

// heartbeat is the TTL the tests run with: the purge bound of the issue is
// 5 s, and the expiry of a key takes up to about one TTL more than the TTL
// after the last beat.
const heartbeat = 2 * time.Second

// startNodes starts a NATS server and n nodes on it, each on its own
// connection, as on separate machines.
func startNodes(t *testing.T, n int) []testNode {
	t.Helper()
	url := natstest.Start(t)
	nodes := make([]testNode, n)
	for i := range nodes {
		nc := natstest.Connect(t, url)
		local := newDeliveries()
		node, err := cluster.Start(t.Context(), cluster.Config{
			Conn: nc, Name: "n" + string(rune('a'+i)), Local: local, HeartbeatTTL: heartbeat,
		})
		require.NoError(t, err)
		var once sync.Once
		kill := func() { once.Do(func() { cluster.Kill(node); nc.Close() }) }
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if !nc.IsClosed() {
				require.NoError(t, node.Close(ctx))
			}
			kill()
		})
		nodes[i] = testNode{Node: node, local: local, kill: kill}
	}
	return nodes
}

func harness(n testNode) hosttest.SessionsHarness {
	return hosttest.SessionsHarness{
		Sessions: n.Node,
		Online: func(s jid.JID) error {
			return n.Add(context.Background(), host.Resource{JID: s})
		},
		Offline: func(s jid.JID) error {
			_, err := n.Remove(context.Background(), s)
			return err
		},
	}
}

// TestSessions runs the single-node contract against one node of a
// three-node cluster: its own writes, read back at once.
func TestSessions(t *testing.T) {
	hosttest.RunSessions(t, func(t *testing.T) hosttest.SessionsHarness {
		return harness(startNodes(t, 3)[1])
	})
}

func TestCluster(t *testing.T) {
	clustertest.Run(t, func(t *testing.T) clustertest.Cluster {
		nodes := startNodes(t, 3)
		c := clustertest.Cluster{
			Kill:    func(i int) { nodes[i].kill() },
			Visible: time.Second,
			Purge:   5 * time.Second,
		}
		for _, n := range nodes {
			h := harness(n)
			c.Members = append(c.Members, clustertest.Member{Sessions: h.Sessions, Online: h.Online, Offline: h.Offline})
		}
		return c
	})
}

func (n testNode) applied() <-chan struct{} { return cluster.Applied(n.Node) }

// waitTimeout bounds every wait for an event in these tests.
const waitTimeout = 10 * time.Second

// waitLimit returns a channel closed waitTimeout from now, or when t ends.
func waitLimit(t *testing.T) <-chan struct{} {
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	t.Cleanup(cancel)
	return ctx.Done()
}
