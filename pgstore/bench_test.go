package pgstore_test

import (
	"context"
	"encoding/xml"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/pgtest"
	"github.com/mixpam/mixpam/pam"
	"github.com/mixpam/mixpam/pgstore"
	"github.com/mixpam/mixpam/roster"
)

// bigArchive is the size of the archive of BenchmarkMAMPage: 1,000,000 for
// the figure in docs/performance.md (a minute to generate), less to try it.
var bigArchive = flag.Int("big-archive", 1_000_000, "records in the archive of BenchmarkMAMPage")

const benchStanza = `<message from="coven@mix.shakespeare.example/123456" to="juliet@capulet.example" type="groupchat"><body>Harpier cries: 'tis time, 'tis time.</body><mix xmlns="urn:xmpp:mix:core:1"><nick>thirdwitch</nick><jid>hag66@shakespeare.example</jid></mix></message>`

var benchChannel = jid.MustParse("coven@mix.shakespeare.example")

// perSecond reports the rate of b's iterations as unit.
func perSecond(b *testing.B, unit string) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
}

// BenchmarkAppend compares archive appends from 16 concurrent callers
// (the fan-outs of a busy server) spread over 100 owners: MemStore (the
// baseline), PostgreSQL with one transaction per append (16 at once), and
// PostgreSQL with group commit: the defaults, 4 committers, and a 1 ms wait
// for fuller batches. It reports the mean batch size.
func BenchmarkAppend(b *testing.B) {
	stores := []struct {
		name string
		new  func(b *testing.B) archive.Store
	}{
		{"memstore", func(*testing.B) archive.Store { return archive.NewMemStore() }},
		{"postgres-one-per-transaction", func(b *testing.B) archive.Store {
			return newArchiveStore(b, pgstore.ArchiveConfig{MaxBatch: 1, Committers: 16})
		}},
		{"postgres-group-commit", func(b *testing.B) archive.Store { return newArchiveStore(b, pgstore.ArchiveConfig{}) }},
		{"postgres-group-commit-4-committers", func(b *testing.B) archive.Store {
			return newArchiveStore(b, pgstore.ArchiveConfig{Committers: 4})
		}},
		{"postgres-group-commit-wait-1ms", func(b *testing.B) archive.Store {
			return newArchiveStore(b, pgstore.ArchiveConfig{MaxWait: time.Millisecond})
		}},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			s := st.new(b)
			var ids archive.IDGenerator
			var n atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id, now := ids.Next()
					owner := jid.MustParse(fmt.Sprintf("user%d@capulet.example", n.Add(1)%100))
					err := s.Append(context.Background(), owner, archive.Record{ID: id, With: benchChannel, Time: now, Stanza: []byte(benchStanza)})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			perSecond(b, "appends/s")
			if pg, ok := s.(*pgstore.ArchiveStore); ok {
				st := pg.Stats()
				b.ReportMetric(float64(st.Appends)/float64(max(st.Commits, 1)), "appends/commit")
			}
		})
	}
}

// BenchmarkFanOutMessage handles one MIX message end to end for its two
// recipients (pam.FanOut: checks, stanza-id, archive append, delivery to
// one MIX-capable resource each), with the archive in MemStore and in
// PostgreSQL, from 16 concurrent callers.
func BenchmarkFanOutMessage(b *testing.B) {
	for _, st := range []struct {
		name string
		new  func(b *testing.B) archive.Store
	}{
		{"memstore", func(*testing.B) archive.Store { return archive.NewMemStore() }},
		{"postgres", func(b *testing.B) archive.Store { return newArchiveStore(b, pgstore.ArchiveConfig{}) }},
	} {
		b.Run(st.name, func(b *testing.B) {
			ctx := context.Background()
			recipients := []jid.JID{jid.MustParse("juliet@capulet.example"), jid.MustParse("romeo@montague.example")}
			rst := roster.NewMemStore()
			sessions := host.NewMemSessions()
			for _, r := range recipients {
				_, err := rst.Put(ctx, r, roster.Item{JID: benchChannel, Subscription: roster.From, Channel: true})
				require.NoError(b, err)
				full, err := r.WithResource("phone")
				require.NoError(b, err)
				sessions.Add(host.Resource{JID: full, MIXCapable: true, Available: true})
			}
			f, err := pam.NewFanOut(pam.FanOutConfig{Sessions: sessions, Router: discard{}, Roster: rst, Archive: st.new(b)})
			require.NoError(b, err)
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					for _, r := range recipients {
						msg := strings.Replace(benchStanza, "juliet@capulet.example", r.String(), 1)
						d := xml.NewDecoder(strings.NewReader(msg))
						tok, _ := d.Token()
						res, err := f.ServeMessage(ctx, tok.(xml.StartElement), d)
						if err != nil || res.Delivered != 1 {
							b.Error(res, err)
							return
						}
					}
				}
			})
			perSecond(b, "messages/s")
		})
	}
}

// discard is a host.Router that drops what it is given.
type discard struct{}

func (discard) Route(context.Context, jid.JID, xml.TokenReader) error { return nil }

// BenchmarkRosterItems gets a roster of 10,000 items, from MemStore and from
// PostgreSQL.
func BenchmarkRosterItems(b *testing.B) {
	const items = 10_000
	user := jid.MustParse("juliet@capulet.example")
	for _, st := range []struct {
		name string
		new  func(b *testing.B) roster.Store
	}{
		{"memstore", func(*testing.B) roster.Store { return roster.NewMemStore() }},
		{"postgres", func(b *testing.B) roster.Store {
			pool := pgtest.Pool(b)
			require.NoError(b, pgstore.Migrate(b.Context(), pool))
			return pgstore.NewRosterStore(pool)
		}},
	} {
		b.Run(st.name, func(b *testing.B) {
			s := st.new(b)
			for i := range items {
				_, err := s.Put(b.Context(), user, roster.Item{JID: jid.MustParse(fmt.Sprintf("contact%05d@example.org", i)), Name: "Contact", Subscription: roster.Both, Groups: []string{"Friends"}})
				require.NoError(b, err)
			}
			b.ResetTimer()
			for b.Loop() {
				got, _, err := s.Items(b.Context(), user)
				if err != nil || len(got) != items {
					b.Fatal(len(got), err)
				}
			}
		})
	}
}

// BenchmarkMAMPage measures the latency of MAM pages (50 records) of a user
// with -big-archive archived messages from 10 channels, in MemStore and in
// PostgreSQL: the newest page (what a client asks first), a page after a
// random id, and the newest page of one channel. It reports p50 and p99.
func BenchmarkMAMPage(b *testing.B) {
	owner := jid.MustParse("juliet@capulet.example")
	n := *bigArchive
	idOf := func(i int) string { return fmt.Sprintf("%013d", i) }
	channel := func(i int) string { return fmt.Sprintf("ch%d@mix.shakespeare.example", i%10) }
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, st := range []struct {
		name string
		fill func(b *testing.B) archive.Store
	}{
		{"memstore", func(b *testing.B) archive.Store {
			s := archive.NewMemStore()
			for i := range n {
				rec := archive.Record{ID: idOf(i), With: jid.MustParse(channel(i)), Time: epoch.Add(time.Duration(i) * time.Second), Stanza: []byte(benchStanza)}
				require.NoError(b, s.Append(b.Context(), owner, rec))
			}
			return s
		}},
		{"postgres", func(b *testing.B) archive.Store {
			pool := pgtest.Pool(b)
			require.NoError(b, pgstore.Migrate(b.Context(), pool))
			_, err := pool.Exec(b.Context(), `INSERT INTO archive (owner, id, with_jid, time_ns, stanza)
				SELECT $1, lpad(i::text, 13, '0'), 'ch' || (i % 10) || '@mix.shakespeare.example', $2::bigint + i::bigint * 1000000000, $3
				FROM generate_series(0, $4 - 1) AS i`, owner.String(), epoch.UnixNano(), []byte(benchStanza), n)
			require.NoError(b, err)
			_, err = pool.Exec(b.Context(), `INSERT INTO archive_owner VALUES ($1, $2)`, owner.String(), n)
			require.NoError(b, err)
			_, err = pool.Exec(b.Context(), `INSERT INTO archive_with SELECT owner, with_jid, count(*) FROM archive GROUP BY owner, with_jid`)
			require.NoError(b, err)
			_, err = pool.Exec(b.Context(), `VACUUM ANALYZE archive`)
			require.NoError(b, err)
			s, err := pgstore.NewArchiveStore(pool, pgstore.ArchiveConfig{})
			require.NoError(b, err)
			b.Cleanup(func() { _ = s.Close() })
			return s
		}},
	} {
		b.Run(st.name, func(b *testing.B) {
			s := st.fill(b)
			ctx := b.Context()
			page := func(q archive.Query) {
				p, err := s.Query(ctx, owner, q)
				if err != nil || len(p.Records) != 50 || p.Count == 0 {
					b.Fatal(len(p.Records), p.Count, err)
				}
			}
			b.Run("newest", func(b *testing.B) {
				latencies(b, func() { page(archive.Query{Max: 50, Last: true}) })
			})
			b.Run("after-random-id", func(b *testing.B) {
				latencies(b, func() { page(archive.Query{Max: 50, After: idOf(rand.IntN(n - 100))}) })
			})
			b.Run("newest-of-one-channel", func(b *testing.B) {
				latencies(b, func() { page(archive.Query{Max: 50, Last: true, With: jid.MustParse(channel(3))}) })
			})
		})
	}
}

// latencies runs q b.N times and reports the p50 and p99 in microseconds.
func latencies(b *testing.B, q func()) {
	var d []time.Duration
	for b.Loop() {
		start := time.Now()
		q()
		d = append(d, time.Since(start))
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), "p99-µs")
}
