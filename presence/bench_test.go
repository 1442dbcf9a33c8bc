package presence

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/internal/splice"
	"github.com/mixpam/mixpam/roster"
)

// replay yields recorded tokens again and again without allocating: the
// children a host's decoder has already produced, so that the benchmarks
// measure the handler and not the decoding the host pays for anyway.
type replay struct {
	toks []xml.Token
	i    int
}

// newReplay decodes raw and returns its header and a replay of its children.
func newReplay(tb testing.TB, raw string) (stanza.Presence, *replay) {
	tb.Helper()
	d := xml.NewDecoder(strings.NewReader(raw))
	tok, err := d.Token()
	require.NoError(tb, err)
	p, err := stanza.NewPresence(tok.(xml.StartElement))
	require.NoError(tb, err)
	r := &replay{}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		require.NoError(tb, err)
		r.toks = append(r.toks, xml.CopyToken(tok))
	}
	r.toks = r.toks[:len(r.toks)-1] // the presence's end element
	return p, r
}

func (r *replay) Token() (xml.Token, error) {
	if r.i == len(r.toks) {
		return nil, io.EOF
	}
	r.i++
	return r.toks[r.i-1], nil
}

func (r *replay) rewind() *replay {
	r.i = 0
	return r
}

// discard is a RawRouter that only reads what it is given.
type discard struct{ n *int }

func (d discard) Route(context.Context, jid.JID, xml.TokenReader) error { return nil }

func (d discard) RouteRaw(_ context.Context, _ jid.JID, raw []byte) error {
	*d.n += len(raw)
	return nil
}

// newBenchHandler returns a Handler for a user who joined coven and has n
// MIX-capable clients online (plus one that is not), with realistic 36-byte
// resource names.
func newBenchHandler(tb testing.TB, n int, opts ...option) (*Handler, *int) {
	tb.Helper()
	ctx := context.Background()
	user := jid.MustParse(userBare)
	rosters := roster.NewMemStore()
	_, err := rosters.Put(ctx, user, roster.Item{JID: jid.MustParse(coven), Subscription: roster.From, Channel: true})
	require.NoError(tb, err)
	sessions := host.NewMemSessions()
	routed := 0
	h := newHandler(tb, sessions, discard{&routed}, rosters, opts...)
	for i := range n + 1 {
		j, err := user.WithResource(fmt.Sprintf("Conversations.%022d", i))
		require.NoError(tb, err)
		sessions.Add(host.Resource{JID: j, MIXCapable: i < n, Available: true})
		require.NoError(tb, h.Outbound(ctx, stanza.Presence{From: j}, nil))
	}
	return h, &routed
}

// BenchmarkInboundFanOut compares passing one channel presence (Listing 14,
// 376 bytes as delivered) on to N clients, caching it on the way, with
// copying the same stanza N times: the floor, as any delivery copies the
// bytes at least once.
func BenchmarkInboundFanOut(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1, 2, 10, 100} {
		b.Run(fmt.Sprintf("N=%d/mixpam", n), func(b *testing.B) {
			h, routed := newBenchHandler(b, n)
			p, payload := newReplay(b, channelPresence)
			b.ReportAllocs()
			for b.Loop() {
				if err := h.Inbound(ctx, p, payload.rewind()); err != nil {
					b.Fatal(err)
				}
			}
			require.NotZero(b, *routed)
		})
		b.Run(fmt.Sprintf("N=%d/baseline-bytecopy", n), func(b *testing.B) {
			raw := []byte(channelPresence)
			buf := make([]byte, 0, 1024)
			routed := 0
			b.ReportAllocs()
			for b.Loop() {
				for range n {
					buf = append(buf[:0], raw...)
					routed += len(buf)
				}
			}
		})
	}
}

// cacheEntries is how many entries BenchmarkCacheMemory caches: 100 users
// in one channel of 1,000 participants.
const (
	cacheUsers        = 100
	cacheParticipants = 1000
)

// BenchmarkCacheMemory reports the heap the presence cache uses per cached
// presence (bytes/entry), for 100,000 entries of Listing 14 with distinct
// senders, against the bare minimum: the same rendered stanzas kept as byte
// slices.
func BenchmarkCacheMemory(b *testing.B) {
	ctx := context.Background()
	p, payload := newReplay(b, channelPresence)
	users := make([]jid.JID, cacheUsers)
	rosters := roster.NewMemStore()
	for i := range users {
		users[i] = jid.MustParse(fmt.Sprintf("user%03d@shakespeare.example", i))
		_, err := rosters.Put(ctx, users[i], roster.Item{JID: jid.MustParse(coven), Subscription: roster.From, Channel: true})
		require.NoError(b, err)
	}
	senders := make([]jid.JID, cacheParticipants)
	for i := range senders {
		senders[i] = jid.MustParse(fmt.Sprintf("%06d#coven@mix.shakespeare.example/UUID-a1j/%04d", i, i))
	}
	const entries = cacheUsers * cacheParticipants

	b.Run("mixpam", func(b *testing.B) {
		var perEntry float64
		for b.Loop() {
			before := heapAlloc()
			h := newHandler(b, host.NewMemSessions(), hosttest.NewRecorder(nil), rosters, withCache(entries, entries))
			q := p
			for _, u := range users {
				q.To = u
				for _, s := range senders {
					q.From = s
					if err := h.Inbound(ctx, q, payload.rewind()); err != nil {
						b.Fatal(err)
					}
				}
			}
			after := heapAlloc()
			if got := h.Stats().Entries; got != entries {
				b.Fatalf("%d entries cached", got)
			}
			perEntry = float64(after-before) / entries
			runtime.KeepAlive(h)
		}
		b.ReportMetric(perEntry, "bytes/entry")
	})
	b.Run("baseline-byteslices", func(b *testing.B) {
		// The stanza as the cache renders it, without to.
		rendered, err := splice.Capture(nil, p.Wrap(payload.rewind()))
		require.NoError(b, err)
		var perEntry float64
		for b.Loop() {
			before := heapAlloc()
			kept := make([][]byte, 0, entries)
			for range users {
				for _, s := range senders {
					kept = append(kept, bytes.Replace(rendered.Bytes(), []byte(hecateIn), []byte(s.String()), 1))
				}
			}
			after := heapAlloc()
			perEntry = float64(after-before) / entries
			runtime.KeepAlive(kept)
		}
		b.ReportMetric(perEntry, "bytes/entry")
	})
}

// heapAlloc returns the bytes of live heap objects after a full collection.
func heapAlloc() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC() // and the sync.Pool victim caches
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
