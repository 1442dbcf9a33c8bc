package presence

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/roster"
)

// from returns the from attributes of ds, in order.
func froms(ds []delivered) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.From+" "+d.Type+d.Show)
	}
	return out
}

// channelSays has a channel send presence from sender to the user.
func channelSays(hs *harness, sender, attrs, payload string) {
	hs.t.Helper()
	require.True(hs.t, hs.inbound(`<presence from='`+sender+`' to='`+userBare+`' `+attrs+`>`+payload+`</presence>`))
}

func TestCacheKeepsLatestPresencePerSender(t *testing.T) {
	hs := newHarness(t)
	hs.join(coven, roster.From)
	channelSays(hs, hecateIn, "", "<show>dnd</show>")
	channelSays(hs, thirdIn, "", "<show>away</show>")
	channelSays(hs, coven+"/x", "", "")
	channelSays(hs, hecateIn, "", "<show>chat</show>")
	channelSays(hs, thirdIn, "type='unavailable'", "")
	require.Equal(t, 2, hs.h.Stats().Entries)

	hs.online(mixClient, true)
	got := to(hs.deliveries(), mixClient)
	require.Equal(t, []string{coven + "/x ", hecateIn + " chat"}, froms(got), "least recently updated first")
}

func TestCacheBoundPerUser(t *testing.T) {
	hs := newHarness(t, withCache(2, 100))
	hs.join(coven, roster.From)
	hs.join(brew, roster.From)
	hs.online(mixOther, true) // refreshes both channels
	hs.outbound(mixOther, `<presence type='unavailable'/>`)
	hs.mark()
	channelSays(hs, brewerIn, "", "")
	channelSays(hs, hecateIn, "", "")
	channelSays(hs, brewerIn, "", "<show>xa</show>") // now the most recent
	channelSays(hs, thirdIn, "", "")
	require.Equal(t, Stats{Entries: 2, Evicted: 1}, hs.counters(), "the oldest, hecate, went")

	hs.online(mixClient, true)
	got := hs.deliveries()
	require.Equal(t, []string{brewerIn + " xa", thirdIn + " "}, froms(to(got, mixClient)))
	require.Equal(t, []string{coven}, tos(refreshes(got)), "coven lost an entry: refreshed")
}

func TestCacheBoundTotal(t *testing.T) {
	const other = "witch@shakespeare.example"
	hs := newHarness(t, withCache(10, 3))
	hs.join(coven, roster.From)
	hs.joinAs(other, coven, roster.From)
	channelSays(hs, hecateIn, "", "")
	channelSays(hs, thirdIn, "", "")
	require.True(t, hs.inbound(`<presence from='`+hecateIn+`' to='`+other+`'/>`))
	require.True(t, hs.inbound(`<presence from='`+thirdIn+`' to='`+other+`'/>`))
	require.Equal(t, Stats{Entries: 3, Evicted: 1}, hs.h.Stats())

	hs.online(mixClient, true)
	got := hs.deliveries()
	require.Equal(t, []string{thirdIn + " "}, froms(to(got, mixClient)), "the user's oldest entry was the oldest of all")
	require.Len(t, refreshes(got), 1)
}

func TestCacheWhileOffline(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      []option
		wantAfter []string // what a client coming online again gets
		wantStats Stats
		refreshed bool
	}{{
		name:      "kept by default",
		wantAfter: []string{hecateIn + " dnd", thirdIn + " away"},
		wantStats: Stats{Entries: 2},
	}, {
		name:      "discarded",
		opts:      []option{discardOffline},
		wantStats: Stats{Discarded: 1, Refreshes: 1},
		refreshed: true,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t, tc.opts...)
			hs.join(coven, roster.From)
			hs.online(mixClient, true)
			channelSays(hs, hecateIn, "", "<show>dnd</show>") // ends the refresh
			hs.mark()
			hs.outbound(mixClient, `<presence type='unavailable'/>`)
			channelSays(hs, thirdIn, "", "<show>away</show>") // nobody online
			require.Empty(t, to(hs.deliveries(), mixClient))

			hs.online(mixClient, true)
			got := hs.deliveries()
			require.Equal(t, tc.wantAfter, froms(to(got, mixClient)))
			require.Equal(t, tc.refreshed, len(refreshes(got)) == 1)
			require.Equal(t, tc.wantStats, hs.counters())
		})
	}
}

// tos returns the to attributes of ds, in order.
func tos(ds []delivered) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.To)
	}
	return out
}
