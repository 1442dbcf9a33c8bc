package pam

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/roster"
)

// fanOutTypical is a typical MIX message as a channel sends it over s2s
// (XEP-0405 Listing 1 with the channel's own stanza-id and the sender's
// origin-id): 475 bytes.
const fanOutTypical = `<message xmlns="jabber:server" from="coven@mix.shakespeare.example/123456" ` +
	`to="hecate@shakespeare.example" id="77E07BB0-55CF-4BD4-890E-3F7C0E686BB0" type="groupchat">` +
	`<body>Harpier cries: &apos;tis time, &apos;tis time.</body>` +
	`<mix xmlns="urn:xmpp:mix:core:1"><nick>thirdwitch</nick><jid>hag66@shakespeare.example</jid></mix>` +
	`<stanza-id xmlns="urn:xmpp:sid:0" by="coven@mix.shakespeare.example" id="6e2a8c7e-9a41-4a4c-8f4a-5b0b9d2a7c11"/>` +
	`<origin-id xmlns="urn:xmpp:sid:0" id="a3f1c2d4-0001"/>` +
	`</message>`

// fanOutTypicalRaw is fanOutTypical as a MIX service in the host's
// process routes it, as host.RawRouter stanzas are written: without the
// top-level xmlns.
var fanOutTypicalRaw = strings.Replace(fanOutTypical, ` xmlns="jabber:server"`, "", 1)

// fanOutReplay yields recorded tokens again and again without allocating:
// the tokens a host's decoder has already produced, so that the benchmarks
// measure the fan-out and not the decoding the host pays for anyway.
type fanOutReplay struct {
	start xml.StartElement
	toks  []xml.Token
	i     int
}

func newFanOutReplay(tb testing.TB, raw string) *fanOutReplay {
	tb.Helper()
	d := xml.NewDecoder(strings.NewReader(raw))
	r := &fanOutReplay{start: fanOutFirstStart(tb, d)}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return r
		}
		require.NoError(tb, err)
		r.toks = append(r.toks, xml.CopyToken(tok))
	}
}

func (r *fanOutReplay) Token() (xml.Token, error) {
	if r.i == len(r.toks) {
		return nil, io.EOF
	}
	r.i++
	return r.toks[r.i-1], nil
}

func (r *fanOutReplay) rewind() *fanOutReplay {
	r.i = 0
	return r
}

// fanOutDiscard is a RawRouter that drops what it is given.
type fanOutDiscard struct{}

func (fanOutDiscard) Route(context.Context, jid.JID, xml.TokenReader) error { return nil }

func (fanOutDiscard) RouteRaw(context.Context, jid.JID, []byte) error { return nil }

// fanOutNopArchive accepts every record and keeps none.
type fanOutNopArchive struct{}

func (fanOutNopArchive) Append(context.Context, jid.JID, archive.Record) error { return nil }

// fanOutSharedList lists the same resources to every caller without
// copying them, as host.MemSessions did before it handed out copies: the
// fan-out's cost without any copy of the list.
type fanOutSharedList []host.Resource

func (l fanOutSharedList) Resources(context.Context, jid.JID) ([]host.Resource, error) {
	return l, nil
}

// fanOutCopying hides the host.ResourceAppender of a host.MemSessions, so
// that the fan-out lists with Resources, which allocates a copy.
type fanOutCopying struct{ host.Sessions }

// How BenchmarkFanOut's sessions list resources.
const (
	listAppend = iota // host.MemSessions as a host.ResourceAppender
	listCopy          // host.MemSessions.Resources, a new copy per call
	listShared        // fanOutSharedList
)

// newFanOutBench returns a FanOut for the user with n MIX-capable resources
// (plus one that is not), whose resources have realistic 36-byte names, in
// a host.MemSessions.
func newFanOutBench(tb testing.TB, n int, store ArchiveAppender) *FanOut {
	return newFanOutBenchSessions(tb, n, store, listAppend)
}

// newFanOutBenchSessions is newFanOutBench with the resources listed as
// list says.
func newFanOutBenchSessions(tb testing.TB, n int, store ArchiveAppender, list int) *FanOut {
	tb.Helper()
	rst := roster.NewMemStore()
	_, err := rst.Put(context.Background(), fanOutUser, roster.Item{JID: fanOutChannel, Subscription: roster.From, Channel: true})
	require.NoError(tb, err)
	mem := host.NewMemSessions()
	var shared fanOutSharedList
	for i := range n + 1 {
		j, err := fanOutUser.WithResource(fmt.Sprintf("Conversations.%022d", i))
		require.NoError(tb, err)
		r := host.Resource{JID: j, MIXCapable: i < n, Available: true}
		mem.Add(r)
		shared = append(shared, r)
	}
	var sessions host.Sessions = mem
	switch list {
	case listCopy:
		sessions = fanOutCopying{mem}
	case listShared:
		sessions = shared
	}
	f, err := NewFanOut(FanOutConfig{Sessions: sessions, Router: fanOutDiscard{}, Roster: rst, Archive: store})
	require.NoError(tb, err)
	return f
}

// BenchmarkFanOut compares the fan-out of one message to N resources with
// copying the same stanza N times (the floor: any delivery copies the bytes
// at least once). The archive keeps nothing, so that only the fan-out is
// measured; BenchmarkFanOutMessage includes a real store. Sessions are
// listed from a host.MemSessions into the fan-out's pooled buffer
// (host.ResourceAppender); mixpam-copying-sessions lists them with
// Resources, a new copy per message, and mixpam-shared-list without any
// copy, to measure what the copies cost.
func BenchmarkFanOut(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1, 2, 10, 100} {
		b.Run(fmt.Sprintf("N=%d/mixpam", n), func(b *testing.B) {
			f := newFanOutBench(b, n, fanOutNopArchive{})
			replay := newFanOutReplay(b, fanOutTypical)
			b.ReportAllocs()
			for b.Loop() {
				res, err := f.ServeMessage(ctx, replay.start, replay.rewind())
				if err != nil || res.Delivered != n {
					b.Fatal(res, err)
				}
			}
		})
		for _, v := range []struct {
			name string
			list int
		}{{"mixpam-copying-sessions", listCopy}, {"mixpam-shared-list", listShared}} {
			b.Run(fmt.Sprintf("N=%d/%s", n, v.name), func(b *testing.B) {
				f := newFanOutBenchSessions(b, n, fanOutNopArchive{}, v.list)
				replay := newFanOutReplay(b, fanOutTypical)
				b.ReportAllocs()
				for b.Loop() {
					res, err := f.ServeMessage(ctx, replay.start, replay.rewind())
					if err != nil || res.Delivered != n {
						b.Fatal(res, err)
					}
				}
			})
		}
		b.Run(fmt.Sprintf("N=%d/mixpam-raw", n), func(b *testing.B) {
			f := newFanOutBench(b, n, fanOutNopArchive{})
			raw := []byte(fanOutTypicalRaw)
			b.ReportAllocs()
			for b.Loop() {
				res, err := f.ServeRaw(ctx, raw)
				if err != nil || res.Delivered != n {
					b.Fatal(res, err)
				}
			}
		})
		b.Run(fmt.Sprintf("N=%d/baseline-bytecopy", n), func(b *testing.B) {
			raw := []byte(fanOutTypical)
			buf := make([]byte, 0, 1024)
			b.ReportAllocs()
			for b.Loop() {
				for range n {
					buf = append(buf[:0], raw...)
				}
			}
		})
	}
}

// BenchmarkFanOutMessage compares handling one typical MIX message end to
// end (checks, capture, archive to the in-memory store, delivery to two
// resources) with decoding the same stanza once as a mellium-based host does
// before it can hand it over.
func BenchmarkFanOutMessage(b *testing.B) {
	ctx := context.Background()
	b.Run("mixpam", func(b *testing.B) {
		store := archive.NewMemStore()
		f := newFanOutBench(b, 2, store)
		replay := newFanOutReplay(b, fanOutTypical)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if i++; i%4096 == 0 {
				// Keep the archive (and the benchmark's memory) small.
				*store = *archive.NewMemStore()
			}
			res, err := f.ServeMessage(ctx, replay.start, replay.rewind())
			if err != nil || res.Delivered != 2 {
				b.Fatal(res, err)
			}
		}
	})
	// A host holding the message as bytes (a RawRouter's router, the
	// example server): decoding them for ServeMessage, which writes them
	// again, against handing them to ServeRaw.
	for _, v := range []struct {
		name  string
		serve func(f *FanOut, raw []byte) (FanOutResult, error)
	}{
		{"mixpam-decode-ServeMessage", func(f *FanOut, raw []byte) (FanOutResult, error) {
			d := xml.NewDecoder(bytes.NewReader(raw))
			tok, err := d.Token()
			if err != nil {
				return FanOutResult{}, err
			}
			return f.ServeMessage(ctx, tok.(xml.StartElement), d)
		}},
		{"mixpam-ServeRaw", func(f *FanOut, raw []byte) (FanOutResult, error) { return f.ServeRaw(ctx, raw) }},
	} {
		b.Run(v.name, func(b *testing.B) {
			store := archive.NewMemStore()
			f := newFanOutBench(b, 2, store)
			raw := []byte(fanOutTypicalRaw)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i++; i%4096 == 0 {
					*store = *archive.NewMemStore()
				}
				res, err := v.serve(f, raw)
				if err != nil || res.Delivered != 2 {
					b.Fatal(res, err)
				}
			}
		})
	}
	b.Run("baseline-bytecopy-x3", func(b *testing.B) {
		// The least any fan-out to two resources with an archive does:
		// three copies of the stanza.
		raw := []byte(fanOutTypicalRaw)
		var bufs [3][]byte
		b.ReportAllocs()
		for b.Loop() {
			for i := range bufs {
				bufs[i] = append(bufs[i][:0], raw...)
			}
		}
	})
	b.Run("baseline-mellium-decode", func(b *testing.B) {
		raw := []byte(fanOutTypical)
		b.ReportAllocs()
		for b.Loop() {
			d := xml.NewDecoder(bytes.NewReader(raw))
			tok, err := d.Token()
			if err != nil {
				b.Fatal(err)
			}
			if _, err := stanza.NewMessage(tok.(xml.StartElement)); err != nil {
				b.Fatal(err)
			}
			if _, err := xmlstream.Copy(xmlstream.Discard(), xmlstream.InnerElement(d)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
