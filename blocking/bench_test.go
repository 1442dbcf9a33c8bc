package blocking_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/blocking"
)

// blocklistOf returns n distinct items of every kind XEP-0191 allows:
// bare JIDs, full JIDs, domains, channels and participants.
func blocklistOf(b *testing.B, n int) []jid.JID {
	items := make([]jid.JID, 0, n)
	for i := range n {
		var s string
		switch i % 5 {
		case 0:
			s = fmt.Sprintf("user%d@example.net", i)
		case 1:
			s = fmt.Sprintf("user%d@example.net/res", i)
		case 2:
			s = fmt.Sprintf("host%d.example.org", i)
		case 3:
			s = fmt.Sprintf("channel%d@mix.example", i)
		default:
			s = fmt.Sprintf("%d#channel%d@mix.example", i, i)
		}
		j, err := jid.Parse(s)
		require.NoError(b, err)
		items = append(items, j)
	}
	return items
}

// benchPeers are the kinds of traffic the benchmarks decide on, none of it
// blocked, so that every rule is tried.
var benchPeers = []struct {
	name string
	peer blocking.Peer
}{
	{"groupchat", blocking.Peer{JID: jid.MustParse("coven@mix.example/123456"), Groupchat: true}},
	{"encoded", blocking.Peer{JID: jid.MustParse("123456#coven@mix.example/UUID-a1j")}},
	{"contact", blocking.Peer{JID: jid.MustParse("romeo@montague.net/orchard")}},
}

// storeFilter returns a Filter over a MemStore holding items for juliet.
func storeFilter(b *testing.B, items []jid.JID) *blocking.Filter {
	store := blocking.NewMemStore()
	_, err := store.Block(context.Background(), juliet, items...)
	require.NoError(b, err)
	return newFilter(b, blocking.FilterConfig{Checker: blocking.StoreChecker(store)})
}

// BenchmarkBlocked measures the decision for traffic that is not blocked
// (every rule is tried) with a 10-item and a 10,000-item blocklist. The
// baseline is the naive decision: XEP-0191 matching by a linear scan with
// mellium's blocklist.Match, decorated by the same Filter.
func BenchmarkBlocked(b *testing.B) {
	ctx := context.Background()
	for _, p := range benchPeers {
		for _, n := range []int{10, 10000} {
			items := blocklistOf(b, n)
			filters := []struct {
				name   string
				filter *blocking.Filter
			}{
				{"store", storeFilter(b, items)},
				{"baseline-linear-scan", newFilter(b, blocking.FilterConfig{Checker: linearChecker(items)})},
			}
			for _, f := range filters {
				b.Run(fmt.Sprintf("%s/%s/items=%d", p.name, f.name, n), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						blocked, err := f.filter.Blocked(ctx, juliet, p.peer)
						if blocked || err != nil {
							b.Fatal(blocked, err)
						}
					}
				})
			}
		}
	}
}

// BenchmarkBlockedRatio runs the decision with a 10-item and a 10,000-item
// blocklist in alternating batches, so that both see the same machine load,
// and reports the time per decision of each and their ratio.
func BenchmarkBlockedRatio(b *testing.B) {
	ctx := context.Background()
	small := storeFilter(b, blocklistOf(b, 10))
	large := storeFilter(b, blocklistOf(b, 10000))
	const batch = 4
	for _, p := range benchPeers {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			var elapsed [2]time.Duration
			decisions := 0
			for b.Loop() {
				for i, f := range []*blocking.Filter{small, large} {
					start := time.Now()
					for range batch {
						if blocked, err := f.Blocked(ctx, juliet, p.peer); blocked || err != nil {
							b.Fatal(blocked, err)
						}
					}
					elapsed[i] += time.Since(start)
				}
				decisions += batch
			}
			b.ReportMetric(float64(elapsed[0].Nanoseconds())/float64(decisions), "ns/decision-10")
			b.ReportMetric(float64(elapsed[1].Nanoseconds())/float64(decisions), "ns/decision-10000")
			b.ReportMetric(float64(elapsed[1])/float64(elapsed[0]), "ratio")
		})
	}
}
