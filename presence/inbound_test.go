package presence

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/roster"
)

// fanOutSetup has two MIX-capable clients online, a client that is not MIX
// capable online, and a MIX-capable session that has sent no presence yet.
func fanOutSetup(t *testing.T, opts ...option) *harness {
	hs := newHarness(t, opts...)
	hs.join(coven, roster.From)
	hs.online(mixClient, true)
	hs.online(oldClient, false)
	hs.online(mixOther, true)
	hs.connect(userBare+"/silent", true)
	hs.mark()
	return hs
}

func TestInboundFanOut(t *testing.T) {
	hecateMIX := &struct {
		JID  string `xml:"jid"`
		Nick string `xml:"nick"`
	}{JID: "hecate@shakespeare.example/UUID-x4r/2491", Nick: "thirdwitch"}
	for _, tc := range []struct {
		name string
		raw  string
		want delivered // To and RoutedTo filled in per client
	}{{
		name: "Listing 14",
		raw:  channelPresence,
		want: delivered{From: hecateIn, ID: "77E07BB0-55CF-4BD4-890E-3F7C0E686BBD", Show: "dnd", Status: "Making a Brew", MIX: hecateMIX},
	}, {
		name: "without mix element",
		raw:  `<presence from='` + thirdIn + `' to='` + userBare + `'><show>chat</show></presence>`,
		want: delivered{From: thirdIn, Show: "chat"},
	}, {
		name: "unavailable",
		raw:  `<presence type='unavailable' from='` + hecateIn + `' to='` + userBare + `'><mix xmlns='urn:xmpp:mix:presence:0'><jid>hecate@shakespeare.example/UUID-x4r/2491</jid><nick>thirdwitch</nick></mix></presence>`,
		want: delivered{From: hecateIn, Type: "unavailable", MIX: hecateMIX},
	}, {
		name: "from the channel itself",
		raw:  `<presence from='` + coven + `' to='` + userBare + `'/>`,
		want: delivered{From: coven},
	}, {
		name: "from a resource of the channel",
		raw:  `<presence from='` + coven + `/nick' to='` + userBare + `'/>`,
		want: delivered{From: coven + "/nick"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			hs := fanOutSetup(t)
			require.True(t, hs.inbound(tc.raw))
			var want []delivered
			for _, c := range []string{mixClient, mixOther} {
				d := tc.want
				d.To, d.RoutedTo = c, c
				want = append(want, d)
			}
			// Listing 15: from unchanged, to rewritten, only the MIX-capable
			// clients that are online.
			require.Equal(t, want, hs.deliveries())
		})
	}
}

func TestInboundDropsSpoofedChannelPresence(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
	}{{
		name: "participant of a channel not joined",
		raw:  `<presence from='1#witches@mix.shakespeare.example/r' to='` + userBare + `'><show>dnd</show></presence>`,
	}, {
		name: "participant of a joined channel's name on another service",
		raw:  `<presence from='1#coven@mix.evil.example/r' to='` + userBare + `'/>`,
	}, {
		name: "participant of a contact that is not a channel",
		raw:  `<presence from='1#romeo@montague.example/r' to='` + userBare + `'/>`,
	}, {
		name: "unavailable",
		raw:  `<presence type='unavailable' from='1#witches@mix.shakespeare.example' to='` + userBare + `'/>`,
	}, {
		name: "probe",
		raw:  `<presence type='probe' from='1#witches@mix.shakespeare.example' to='` + userBare + `'/>`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			hs := fanOutSetup(t)
			_, err := hs.rosters.Put(context.Background(), jid.MustParse(userBare), roster.Item{
				JID: jid.MustParse("romeo@montague.example"), Subscription: roster.Both,
			})
			require.NoError(t, err)
			require.True(t, hs.inbound(tc.raw), "handled: the host must not deliver it")
			require.Empty(t, hs.deliveries())
			require.Equal(t, Stats{Spoofed: 1}, hs.counters())

			// Nothing was cached: a client coming online gets nothing.
			hs.online(userBare+"/new", true)
			require.Empty(t, to(hs.deliveries(), userBare+"/new"))
		})
	}
}

func TestInboundLeavesOtherPresenceToHost(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
	}{{
		name: "ordinary contact",
		raw:  `<presence from='romeo@montague.example/orchard' to='` + userBare + `'/>`,
	}, {
		name: "stranger",
		raw:  `<presence from='stranger@example.net/x' to='` + userBare + `'/>`,
	}, {
		name: "contact whose localpart has a hash",
		raw:  `<presence from='c#sharp@montague.example/ide' to='` + userBare + `'/>`,
	}, {
		name: "to a full JID",
		raw:  `<presence from='` + hecateIn + `' to='` + mixClient + `'/>`,
	}, {
		name: "subscription management",
		raw:  `<presence type='subscribed' from='` + coven + `' to='` + userBare + `'/>`,
	}, {
		name: "empty participant id",
		raw:  `<presence from='#coven@mix.shakespeare.example/r' to='` + userBare + `'/>`,
	}, {
		name: "no from",
		raw:  `<presence to='` + userBare + `'/>`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			hs := fanOutSetup(t)
			for _, c := range []string{"romeo@montague.example", "c#sharp@montague.example"} {
				_, err := hs.rosters.Put(context.Background(), jid.MustParse(userBare), roster.Item{
					JID: jid.MustParse(c), Subscription: roster.Both,
				})
				require.NoError(t, err)
			}
			require.False(t, hs.inbound(tc.raw))
			require.Empty(t, hs.deliveries())
			require.Equal(t, Stats{}, hs.counters())
		})
	}
}

func TestInboundChannelNamedLikeEncodedJID(t *testing.T) {
	hs := newHarness(t)
	const odd = "a#b@mix.shakespeare.example"
	hs.join(odd, roster.From)
	hs.online(mixClient, true)
	hs.mark()
	require.True(t, hs.inbound(`<presence from='`+odd+`' to='`+userBare+`'/>`))
	require.Len(t, hs.deliveries(), 1)
	require.True(t, hs.inbound(`<presence from='7#`+odd+`/r' to='`+userBare+`'/>`))
	require.Len(t, hs.deliveries(), 1)
	require.Equal(t, Stats{Entries: 2}, hs.counters())
}

func TestInboundBlocked(t *testing.T) {
	hs := fanOutSetup(t, withBlock(blockList{hecateIn: true}))
	require.True(t, hs.inbound(channelPresence))
	require.Empty(t, hs.deliveries())
	require.Equal(t, Stats{Entries: 1, Blocked: 1}, hs.counters(), "kept for an unblock, not delivered")

	require.True(t, hs.inbound(`<presence from='`+thirdIn+`' to='`+userBare+`'/>`))
	require.Len(t, hs.deliveries(), 2, "other participants are not blocked")
}

type failingRoster struct{ roster.Store }

var errStore = errors.New("store down")

func (failingRoster) Item(context.Context, jid.JID, jid.JID) (roster.Item, error) {
	return roster.Item{}, errStore
}

func TestInboundRosterFailure(t *testing.T) {
	hs := fanOutSetup(t)
	h := newHandler(t, hs.sessions, hs.router, failingRoster{hs.rosters})
	p, payload := decode(t, channelPresence)
	err := h.Inbound(context.Background(), p, payload)
	require.ErrorIs(t, err, errStore)
	require.ErrorIs(t, err, host.ErrNotHandled, "left to the host")
	require.Empty(t, hs.deliveries())
}

func TestInboundMalformedPayload(t *testing.T) {
	hs := fanOutSetup(t)
	p, payload := decode(t, `<presence from='`+hecateIn+`' to='`+userBare+`'><show>dnd</status></presence>`)
	err := hs.h.Inbound(context.Background(), p, payload)
	require.Error(t, err)
	require.NotErrorIs(t, err, host.ErrNotHandled, "handled, and failed")
	require.Empty(t, hs.deliveries())
	require.Equal(t, Stats{}, hs.counters(), "nothing cached")
}
