package cluster_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/cluster"
	"github.com/mixpam/mixpam/cluster/internal/natstest"
	"github.com/mixpam/mixpam/host"
)

// BenchmarkAppendResources lists a user's three sessions, bound on another
// node, from a node's local copy, against host.MemSessions in the same run.
func BenchmarkAppendResources(b *testing.B) {
	sessions := []jid.JID{hag66Laptop, hag66Phone, jid.MustParse("hag66@shakespeare.example/desktop")}
	mem := host.NewMemSessions()
	url := natstest.Start(b)
	var nodes []*cluster.Node
	for i := range 2 {
		n, err := cluster.Start(b.Context(), cluster.Config{Conn: natstest.Connect(b, url), Name: fmt.Sprint("b", i), Local: discard{}})
		require.NoError(b, err)
		b.Cleanup(func() { _ = n.Close(context.Background()) })
		nodes = append(nodes, n)
	}
	for _, s := range sessions {
		mem.Add(host.Resource{JID: s})
		require.NoError(b, nodes[1].Add(b.Context(), host.Resource{JID: s}))
	}
	for {
		rs, _ := nodes[0].Resources(b.Context(), hag66Bare)
		if len(rs) == len(sessions) {
			break
		}
		<-cluster.Applied(nodes[0])
	}
	for _, bc := range []struct {
		name string
		reg  host.ResourceAppender
	}{{"MemSessions", mem}, {"Node", nodes[0]}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			dst := make([]host.Resource, 0, 8)
			for b.Loop() {
				dst, _ = bc.reg.AppendResources(b.Context(), dst[:0], hag66Bare)
			}
		})
	}
}

// BenchmarkRouteRaw routes a groupchat message (XEP-0405 §2.2) to a session
// on the same node (the local router, the baseline) and to a session on
// another node, and waits for the last delivery.
func BenchmarkRouteRaw(b *testing.B) {
	url := natstest.Start(b)
	var nodes []*cluster.Node
	counts := []*counter{{}, {}}
	for i := range 2 {
		n, err := cluster.Start(b.Context(), cluster.Config{Conn: natstest.Connect(b, url), Name: fmt.Sprint("b", i), Local: counts[i]})
		require.NoError(b, err)
		b.Cleanup(func() { _ = n.Close(context.Background()) })
		nodes = append(nodes, n)
	}
	require.NoError(b, nodes[0].Add(b.Context(), host.Resource{JID: hag66Phone}))
	require.NoError(b, nodes[1].Add(b.Context(), host.Resource{JID: hag66Laptop}))
	for {
		if node, _ := nodes[0].Resources(b.Context(), hag66Bare); len(node) == 2 {
			break
		}
		<-cluster.Applied(nodes[0])
	}
	raw := []byte(`<message from="coven@mix.shakespeare.example/123456" to="hag66@shakespeare.example/UUID-a1j/7533" id="77E07BB0-55CF-4BD4-890E-3F7C0E686BBD" type="groupchat"><body>Harpier cries: &apos;tis time, &apos;tis time.</body><mix xmlns="urn:xmpp:mix:core:1"><nick>thirdwitch</nick><jid>hag66@shakespeare.example</jid></mix></message>`)
	for _, bc := range []struct {
		name string
		to   jid.JID
		c    *counter
	}{{"SameNode", hag66Phone, counts[0]}, {"OtherNode", hag66Laptop, counts[1]}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			start := bc.c.n.Load()
			var sent int64
			for b.Loop() {
				if err := nodes[0].RouteRaw(b.Context(), bc.to, raw); err != nil {
					b.Fatal(err)
				}
				sent++
			}
			bc.c.waitFor(start + sent)
		})
	}
}

// discard is a local router that drops everything.
type discard struct{}

func (discard) Route(context.Context, jid.JID, xml.TokenReader) error { return nil }

// counter is a local router that counts deliveries.
type counter struct {
	n      atomic.Int64
	mu     sync.Mutex
	target int64
	done   chan struct{} // closed when n reaches target
}

func (c *counter) Route(ctx context.Context, to jid.JID, _ xml.TokenReader) error {
	return c.RouteRaw(ctx, to, nil)
}

func (c *counter) RouteRaw(context.Context, jid.JID, []byte) error {
	v := c.n.Add(1)
	c.mu.Lock()
	if c.done != nil && v >= c.target {
		close(c.done)
		c.done = nil
	}
	c.mu.Unlock()
	return nil
}

// waitFor waits until n reaches target.
func (c *counter) waitFor(target int64) {
	c.mu.Lock()
	if c.n.Load() >= target {
		c.mu.Unlock()
		return
	}
	c.target, c.done = target, make(chan struct{})
	done := c.done
	c.mu.Unlock()
	<-done
}
