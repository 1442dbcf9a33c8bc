package cluster_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/cluster"
	"github.com/mixpam/mixpam/cluster/internal/natstest"
)

// handed is what a node's Config.Owned took.
type handed struct {
	node string
	o    cluster.Owned
}

// TestToOwner: what a node hands to a user's owner reaches that node only;
// the owner itself is told to handle it; and once the owner is gone, the
// next hand-over reaches the next node at once, before the dead owner's
// heartbeat has expired.
func TestToOwner(t *testing.T) {
	url := natstest.Start(t)
	got := make(chan handed, 16)
	nodes := make([]*cluster.Node, 3)
	kills := make([]func(), 3)
	for i := range nodes {
		nc := natstest.Connect(t, url)
		var id string
		var mu sync.Mutex
		n, err := cluster.Start(t.Context(), cluster.Config{
			Conn: nc, Name: fmt.Sprintf("o%d", i), Local: newDeliveries(), HeartbeatTTL: heartbeat,
			Owned: func(_ context.Context, o cluster.Owned) {
				mu.Lock()
				defer mu.Unlock()
				o.Raw = slices.Clone(o.Raw)
				got <- handed{node: id, o: o}
			},
		})
		require.NoError(t, err)
		mu.Lock()
		id = n.ID()
		mu.Unlock()
		nodes[i] = n
		var once sync.Once
		kills[i] = func() { once.Do(func() { cluster.Kill(n); nc.Close() }) }
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = n.Close(ctx)
		})
	}
	for _, n := range nodes {
		require.NoError(t, n.WaitLive(t.Context(), 3))
	}
	// A user owned by nodes[1].
	var user jid.JID
	for i := 0; user.String() == ""; i++ {
		if u := jid.MustParse(fmt.Sprintf("user%d@example.org", i)); nodes[0].Owner(u) == nodes[1].ID() {
			user = u
		}
	}
	take := func() handed {
		t.Helper()
		select {
		case h := <-got:
			return h
		case <-waitLimit(t):
			t.Fatal("nothing handed over")
			return handed{}
		}
	}
	o := cluster.Owned{Key: user, To: user, Kind: "stanza", Raw: []byte(`<message/>`)}

	sent, err := nodes[0].ToOwner(t.Context(), o)
	require.NoError(t, err)
	require.True(t, sent)
	h := take()
	require.Equal(t, nodes[1].ID(), h.node)
	require.Equal(t, "stanza", h.o.Kind)
	require.Equal(t, `<message/>`, string(h.o.Raw))
	require.True(t, h.o.To.Equal(user))

	sent, err = nodes[1].ToOwner(t.Context(), o)
	require.NoError(t, err)
	require.False(t, sent, "the owner handles its own users")

	dead := nodes[1].ID()
	kills[1]()
	sent, err = nodes[0].ToOwner(t.Context(), o)
	require.NoError(t, err)
	require.True(t, sent, "the dead owner still counts as alive")
	h = take()
	require.NotEqual(t, dead, h.node, "handed over again to the next owner")
	require.Contains(t, nodes[0].LiveNodes(), dead, "before the dead owner's heartbeat expired")
	require.Equal(t, h.node, nodes[0].Owner(user), "the next owner is the sender's owner now")
}
