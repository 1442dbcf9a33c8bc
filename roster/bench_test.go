package roster_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
	"github.com/mixpam/mixpam/roster"
)

const benchItems, benchChannels = 10000, 500

// benchRoster returns benchItems items, one in every benchItems/benchChannels
// a channel.
func benchRoster(b *testing.B) []roster.Item {
	b.Helper()
	items := make([]roster.Item, 0, benchItems)
	for i := range benchItems {
		if i%(benchItems/benchChannels) == 0 {
			ch := jid.MustParse(fmt.Sprintf("channel%05d@mix.example.org", i))
			items = append(items, roster.ChannelItem(ch, fmt.Sprintf("%016x", i), "", true))
			continue
		}
		contact := jid.MustParse(fmt.Sprintf("contact%05d@example.net", i))
		items = append(items, roster.Item{JID: contact, Name: fmt.Sprintf("Contact %d", i), Subscription: roster.Both, Groups: []string{"Friends"}})
	}
	return items
}

// discardRouter takes raw stanzas and counts their bytes.
type discardRouter struct{ bytes int }

func (d *discardRouter) Route(_ context.Context, _ jid.JID, r xml.TokenReader) error {
	_, err := xmlstream.Copy(xmlstream.Discard(), r)
	return err
}

func (d *discardRouter) RouteRaw(_ context.Context, _ jid.JID, raw []byte) error {
	d.bytes = len(raw)
	return nil
}

// BenchmarkRosterGet is a roster get of a 10,000-item roster with 500
// channels through Handler.ServeIQ: plain (the baseline) and annotated.
func BenchmarkRosterGet(b *testing.B) {
	ctx := context.Background()
	store := roster.NewMemStore()
	for _, it := range benchRoster(b) {
		_, err := store.Put(ctx, juliet, it)
		require.NoError(b, err)
	}
	sessions := host.NewMemSessions()
	sessions.Add(host.Resource{JID: balcony, Interested: true})
	router := &discardRouter{}
	h := newHandler(b, roster.HandlerConfig{Store: store, Sessions: sessions, Router: router})
	for _, bc := range []struct{ name, payload string }{
		{"plain", plainGet},
		{"annotated", annotatedGet},
	} {
		b.Run(bc.name, func(b *testing.B) {
			iq := stanza.IQ{ID: "get", Type: stanza.GetIQ, From: balcony}
			b.ReportAllocs()
			for b.Loop() {
				if err := h.ServeIQ(ctx, iq, xml.NewDecoder(strings.NewReader(bc.payload)), host.RouteReplies(router)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(router.bytes), "result-bytes")
		})
	}
	get := func(payload string) func() {
		iq := stanza.IQ{ID: "get", Type: stanza.GetIQ, From: balcony}
		return func() {
			if err := h.ServeIQ(ctx, iq, xml.NewDecoder(strings.NewReader(payload)), host.RouteReplies(router)); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("interleaved", func(b *testing.B) {
		interleave(b, get(plainGet), get(annotatedGet))
	})
}

// interleave runs baseline and candidate alternately, once each per
// iteration, and reports each one's mean CPU time and their ratio. On a busy
// machine this ratio is steadier than that of two separate benchmarks: both
// sides see the same conditions, and time given to other processes does not
// count.
func interleave(b *testing.B, baseline, candidate func()) {
	var base, cand time.Duration
	for b.Loop() {
		t0 := cpuTime()
		baseline()
		t1 := cpuTime()
		candidate()
		cand += cpuTime() - t1
		base += t1 - t0
	}
	b.ReportMetric(float64(base.Nanoseconds())/float64(b.N), "baseline-cpu-ns/op")
	b.ReportMetric(float64(cand.Nanoseconds())/float64(b.N), "candidate-cpu-ns/op")
	b.ReportMetric(float64(cand)/float64(base), "cpu-ratio")
}

// BenchmarkRenderRoster is the rendering part of a roster get alone:
// AppendItem over the same roster, plain (the baseline) and annotated.
func BenchmarkRenderRoster(b *testing.B) {
	items := benchRoster(b)
	for _, annotate := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "annotated"}[annotate]
		b.Run(name, func(b *testing.B) {
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				buf = buf[:0]
				for _, it := range items {
					buf = roster.AppendItem(buf, it, annotate)
				}
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

// BenchmarkTransform passes a host's 10,000-item roster result through
// Annotator.Transform to bytes, against the same decode and encode without
// the transformer (the baseline).
func BenchmarkTransform(b *testing.B) {
	ctx := context.Background()
	store := roster.NewMemStore()
	var result bytes.Buffer
	result.WriteString(`<iq xmlns='jabber:client' type='result' id='r' to='juliet@example.com/balcony'><query xmlns='jabber:iq:roster' ver='1'>`)
	for _, it := range benchRoster(b) {
		_, err := store.Put(ctx, juliet, it)
		require.NoError(b, err)
		it.Channel = false
		result.Write(roster.AppendItem(nil, it, false))
	}
	result.WriteString(`</query></iq>`)
	sessions := host.NewMemSessions()
	sessions.Add(host.Resource{JID: balcony, Interested: true, Annotate: true})
	sessions.Add(host.Resource{JID: chamber, Interested: true})
	a := roster.Annotator{Sessions: sessions, Roster: store}

	run := func(b *testing.B, wrap func(xml.TokenReader) xml.TokenReader) {
		var out []byte
		b.ReportAllocs()
		for b.Loop() {
			var err error
			out, err = xmlenc.Append(out[:0], wrap(xml.NewDecoder(bytes.NewReader(result.Bytes()))), ns.Client)
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(out)), "result-bytes")
	}
	b.Run("baseline-decode-encode", func(b *testing.B) {
		run(b, func(r xml.TokenReader) xml.TokenReader { return r })
	})
	transform := func(s jid.JID) func(xml.TokenReader) xml.TokenReader {
		return func(r xml.TokenReader) xml.TokenReader {
			t, err := a.Transform(ctx, s, r)
			if err != nil {
				b.Fatal(err)
			}
			return t
		}
	}
	b.Run("plain", func(b *testing.B) { run(b, transform(chamber)) })
	b.Run("annotated", func(b *testing.B) { run(b, transform(balcony)) })
	b.Run("interleaved", func(b *testing.B) {
		var out []byte
		pass := func(wrap func(xml.TokenReader) xml.TokenReader) func() {
			return func() {
				var err error
				out, err = xmlenc.Append(out[:0], wrap(xml.NewDecoder(bytes.NewReader(result.Bytes()))), ns.Client)
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		interleave(b, pass(func(r xml.TokenReader) xml.TokenReader { return r }), pass(transform(balcony)))
	})
}

// BenchmarkRosterSetLimits is a roster set on a roster one item short of
// DefaultMaxItems: an update of an existing item (the baseline, which the
// Limits only measure) and the addition of a new item, which counts the
// roster, followed by its removal.
func BenchmarkRosterSetLimits(b *testing.B) {
	ctx := context.Background()
	store := roster.NewMemStore()
	user := jid.MustParse("juliet@example.com")
	for _, it := range benchRoster(b)[:roster.DefaultMaxItems-1] {
		_, err := store.Put(ctx, user, it)
		require.NoError(b, err)
	}
	session := jid.MustParse("juliet@example.com/balcony")
	router := &discardRouter{}
	h := newHandler(b, roster.HandlerConfig{Store: store, Sessions: host.NewMemSessions(), Router: router})
	set := func(item string) {
		err := h.ServeIQ(ctx, stanza.IQ{ID: "s", Type: stanza.SetIQ, From: session},
			xml.NewDecoder(strings.NewReader(`<query xmlns="jabber:iq:roster">`+item+`</query>`)), host.RouteReplies(router))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Run("update existing (baseline)", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			set(`<item jid="contact00001@example.net" name="Contact 1"><group>Friends</group></item>`)
			set(`<item jid="contact00001@example.net" name="Contact 1"><group>Friends</group></item>`)
		}
	})
	b.Run("add new, then remove", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			set(`<item jid="newcomer@example.net" name="Newcomer"><group>Friends</group></item>`)
			set(`<item jid="newcomer@example.net" subscription="remove"/>`)
		}
	})
}
