package host_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
)

// BenchmarkMemSessionsResources measures what MemSessions.Resources costs
// the groupchat fan-out for a user with N resources: the copy that the
// caller owns. baseline-bytecopy appends a 475-byte stanza N times, as
// pam's BenchmarkFanOut does, so that the copy reads as a share of the
// fan-out's per-resource ratio (docs/performance.md).
func BenchmarkMemSessionsResources(b *testing.B) {
	ctx := context.Background()
	user := jid.MustParse("hag66@shakespeare.example")
	stanza := []byte(strings.Repeat("x", 475))
	for _, n := range []int{1, 10, 100} {
		sessions := host.NewMemSessions()
		for i := range n {
			j, err := user.WithResource(fmt.Sprintf("Conversations.%022d", i))
			if err != nil {
				b.Fatal(err)
			}
			sessions.Add(host.Resource{JID: j, MIXCapable: true, Available: true})
		}
		b.Run(fmt.Sprintf("N=%d/Resources", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rs, err := sessions.Resources(ctx, user)
				if err != nil || len(rs) != n {
					b.Fatal(len(rs), err)
				}
			}
		})
		b.Run(fmt.Sprintf("N=%d/baseline-bytecopy", n), func(b *testing.B) {
			buf := make([]byte, 0, 1024)
			b.ReportAllocs()
			for b.Loop() {
				for range n {
					buf = append(buf[:0], stanza...)
				}
			}
		})
	}
}
