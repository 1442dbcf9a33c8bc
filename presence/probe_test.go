package presence

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/roster"
)

// probe is a presence probe from the channel to the user's bare JID.
const probe = `<presence type='probe' from='` + coven + `' to='` + userBare + `'/>`

func TestProbe(t *testing.T) {
	for _, tc := range []struct {
		name    string
		clients []string // MIX-capable clients online, besides one that is not
		want    []delivered
	}{{
		name: "no MIX client",
		want: []delivered{{RoutedTo: coven, To: coven, From: userBare, Type: "unavailable"}},
	}, {
		name:    "one MIX client",
		clients: []string{mixClient},
		want:    []delivered{{RoutedTo: coven, To: coven, From: mixClient, Show: "dnd", Status: "Making a Brew"}},
	}, {
		name:    "two MIX clients",
		clients: []string{mixClient, mixOther},
		want: []delivered{
			{RoutedTo: coven, To: coven, From: mixClient, Show: "dnd", Status: "Making a Brew"},
			{RoutedTo: coven, To: coven, From: mixOther, Show: "dnd", Status: "Making a Brew"},
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t)
			hs.join(coven, roster.From)
			hs.online(oldClient, false)
			for _, c := range tc.clients {
				hs.online(c, true)
			}
			hs.mark()
			require.True(t, hs.inbound(probe))
			require.Equal(t, tc.want, hs.deliveries(), "XEP-0403 §5, RFC 6121 §4.3.2: MIX-capable clients only")
		})
	}
}

func TestProbeAnswersCurrentPresence(t *testing.T) {
	hs := newHarness(t)
	hs.join(coven, roster.From)
	hs.online(mixClient, true)
	hs.outbound(mixClient, `<presence><show>away</show></presence>`)
	hs.mark()
	require.True(t, hs.inbound(probe))
	require.Equal(t, []delivered{{RoutedTo: coven, To: coven, From: mixClient, Show: "away"}}, hs.deliveries())

	hs.outbound(mixClient, `<presence type='unavailable'/>`)
	hs.mark()
	require.True(t, hs.inbound(probe))
	require.Equal(t, []delivered{{RoutedTo: coven, To: coven, From: userBare, Type: "unavailable"}}, hs.deliveries())
}

func TestProbeNotAnswered(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  []option
		sub   roster.Subscription
		stats Stats
	}{{
		name: "presence not shared",
		sub:  roster.None,
	}, {
		name:  "channel blocked",
		opts:  []option{withBlock(blockList{coven: true})},
		sub:   roster.From,
		stats: Stats{Blocked: 1},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t, tc.opts...)
			hs.join(coven, tc.sub)
			hs.online(mixClient, true)
			hs.mark()
			require.True(t, hs.inbound(probe))
			require.Empty(t, hs.deliveries())
			require.Equal(t, tc.stats, hs.counters())
		})
	}
}
