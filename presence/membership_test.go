package presence

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/roster"
)

// joined tells the handler that the user joined channel, which must be in
// the roster.
func (hs *harness) joined(channel string) {
	hs.t.Helper()
	require.NoError(hs.t, hs.h.Joined(context.Background(), jid.MustParse(userBare), jid.MustParse(channel)))
}

// left takes channel out of the roster and tells the handler.
func (hs *harness) left(channel string) {
	hs.t.Helper()
	ctx := context.Background()
	_, err := hs.rosters.Delete(ctx, jid.MustParse(userBare), jid.MustParse(channel))
	require.NoError(hs.t, err)
	require.NoError(hs.t, hs.h.Left(ctx, jid.MustParse(userBare), jid.MustParse(channel)))
}

func TestJoinedSendsClientPresence(t *testing.T) {
	const gone = userBare + "/gone"
	refresh := delivered{RoutedTo: coven, To: coven, From: userBare}
	fromClient := delivered{RoutedTo: coven, To: coven, From: mixClient, Show: "dnd", Status: "Making a Brew"}
	fromOther := delivered{RoutedTo: coven, To: coven, From: mixOther, Show: "away"}
	for _, tc := range []struct {
		name string
		sub  roster.Subscription
		opts []option
		want []delivered // to coven, in order
	}{
		{
			name: "shared: each MIX client's last presence, then one refresh",
			sub:  roster.From,
			want: []delivered{fromClient, fromOther, refresh},
		},
		{
			name: "not shared (XEP-0404): the refresh only",
			sub:  roster.None,
			want: []delivered{refresh},
		},
		{
			name: "blocked: nothing",
			sub:  roster.From,
			opts: []option{withBlock(blockList{coven: true})},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t, tc.opts...)
			hs.join(brew, roster.From)
			hs.online(mixClient, true)
			hs.online(mixOther, true)
			hs.outbound(mixOther, `<presence><show>away</show></presence>`)
			hs.online(gone, true)
			hs.outbound(gone, `<presence type='unavailable'/>`)
			hs.online(oldClient, false)
			hs.mark()

			hs.join(coven, tc.sub)
			hs.joined(coven)
			got := hs.deliveries()
			require.Equal(t, tc.want, got, "nothing but to coven, nothing from the client without MIX or the one that went offline")
			require.Equal(t, uint64(len(refreshes(got))), hs.counters().Refreshes)
		})
	}
}

func TestJoinedWithoutMIXClientOnline(t *testing.T) {
	hs := newHarness(t)
	hs.online(oldClient, false)
	hs.join(coven, roster.From)
	hs.joined(coven)
	require.Empty(t, hs.deliveries(), "no MIX client: nothing to send, the refresh waits")

	hs.online(mixClient, true)
	got := hs.deliveries()
	require.Equal(t, []string{coven}, tos(refreshes(got)), "refreshed when a MIX client comes online")
	require.Len(t, got, 2, "and the client's presence")
}

// XEP-0405 §2.9.3: the channel's presence that arrived before the roster
// held the channel is dropped, and Joined has the channel send it again.
func TestJoinedRecoversPresenceSentBeforeRosterWrite(t *testing.T) {
	hs := newHarness(t)
	hs.online(mixClient, true)
	hs.mark()

	require.True(t, hs.inbound(`<presence from='`+hecateIn+`' to='`+userBare+`'><show>dnd</show></presence>`))
	require.Empty(t, hs.deliveries(), "not a channel of the user yet")
	require.Equal(t, uint64(1), hs.counters().Spoofed)

	hs.join(coven, roster.From)
	hs.joined(coven)
	hs.joined(coven) // a second notice does not refresh again
	hs.online(mixOther, true)
	got := hs.deliveries()
	require.Equal(t, []string{coven}, tos(refreshes(got)), "one refresh, however many notices and clients")

	channelSays(hs, hecateIn, "", "<show>dnd</show>")
	got = hs.deliveries()
	require.ElementsMatch(t, []string{mixClient, mixOther}, tos(got))
	require.Equal(t, []string{hecateIn + " dnd", hecateIn + " dnd"}, froms(got))
}

func TestJoinedNeedsChannelItem(t *testing.T) {
	hs := newHarness(t)
	hs.online(mixClient, true)
	hs.mark()
	ctx := context.Background()
	user := jid.MustParse(userBare)
	require.ErrorIs(t, hs.h.Joined(ctx, user, jid.MustParse(coven)), roster.ErrNotFound)
	_, err := hs.rosters.Put(ctx, user, roster.Item{JID: jid.MustParse(coven), Subscription: roster.Both})
	require.NoError(t, err)
	require.ErrorIs(t, hs.h.Joined(ctx, user, jid.MustParse(coven)), roster.ErrNotChannel)
	require.Empty(t, hs.deliveries())
}

// pausingRoster reads the first Items call's answer, then blocks until
// release is closed: the answer is stale by the time the caller gets it.
type pausingRoster struct {
	roster.Store
	entered, release chan struct{}
	once             sync.Once
}

func (p *pausingRoster) Items(ctx context.Context, user jid.JID) ([]roster.Item, uint64, error) {
	items, ver, err := p.Store.Items(ctx, user)
	p.once.Do(func() {
		close(p.entered)
		<-p.release
	})
	return items, ver, err
}

// A client coming online while a join is recorded: its roster read does
// not list the channel yet, and Joined runs before the client is online.
// The channel must get the client's presence all the same, and the client
// the channel's answer to the refresh.
func TestJoinedWhileClientComesOnline(t *testing.T) {
	mem := roster.NewMemStore()
	paused := &pausingRoster{Store: mem, entered: make(chan struct{}), release: make(chan struct{})}
	hs := &harness{t: t, sessions: host.NewMemSessions(), router: hosttest.NewRecorder(nil), rosters: mem}
	hs.h = newHandler(hs.t, hs.sessions, hs.router, paused)
	hs.connect(mixClient, true)

	done := make(chan error, 1)
	go func() {
		p, payload := decode(t, clientPresence)
		p.From = jid.MustParse(mixClient)
		done <- hs.h.Outbound(context.Background(), p, payload)
	}()
	<-paused.entered
	hs.join(coven, roster.From)
	// Joined waits for the Outbound under way: what goes out on a user's
	// behalf is ordered, so neither can miss or overtake the other.
	joined := make(chan error, 1)
	go func() {
		joined <- hs.h.Joined(context.Background(), jid.MustParse(userBare), jid.MustParse(coven))
	}()
	close(paused.release)
	require.NoError(t, <-done)
	require.NoError(t, <-joined)
	channelSays(hs, hecateIn, "", "<show>dnd</show>") // the answer to the refresh

	got := hs.deliveries()
	require.NotEmpty(t, filter(to(got, coven), func(d delivered) bool { return d.From == mixClient }),
		"the client's presence reached the channel")
	require.Len(t, refreshes(got), 1)
	require.Equal(t, []string{hecateIn + " dnd"}, froms(to(got, mixClient)), "the channel's presence reached the client once")
	require.Equal(t, 1, hs.h.Stats().Entries)
}

func TestLeftForgetsChannel(t *testing.T) {
	for _, tc := range []struct {
		name   string
		online bool
	}{
		{name: "client online", online: true},
		{name: "no client online"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t)
			hs.join(coven, roster.From)
			hs.join(brew, roster.From)
			hs.online(mixClient, true)
			channelSays(hs, hecateIn, "", "<show>dnd</show>")
			channelSays(hs, thirdIn, "", "")
			channelSays(hs, brewerIn, "", "")
			if !tc.online {
				hs.outbound(mixClient, `<presence type='unavailable'/>`)
			}
			hs.mark()

			hs.left(coven)
			got := hs.deliveries()
			if tc.online {
				require.Equal(t, []delivered{
					{RoutedTo: mixClient, To: mixClient, From: hecateIn, Type: "unavailable"},
					{RoutedTo: mixClient, To: mixClient, From: thirdIn, Type: "unavailable"},
				}, got, "the client learns that the channel's senders are gone; nothing to the channel")
			} else {
				require.Empty(t, got)
			}
			require.Equal(t, 1, hs.h.Stats().Entries, "brew's entry is left")

			hs.online(mixOther, true)
			got = hs.deliveries()
			require.Equal(t, []string{brewerIn + " "}, froms(to(got, mixOther)))
			require.Empty(t, refreshes(got))

			hs.join(coven, roster.From)
			hs.joined(coven)
			require.Equal(t, []string{coven}, tos(refreshes(hs.deliveries())), "joining again refreshes")
		})
	}
}

func TestLeftUnknown(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	require.NoError(t, hs.h.Left(ctx, jid.MustParse(userBare), jid.MustParse(coven)))
	hs.online(mixClient, true)
	hs.mark()
	require.NoError(t, hs.h.Left(ctx, jid.MustParse(userBare), jid.MustParse(coven)))
	require.Empty(t, hs.deliveries())
}

// A client still being sent the cache when the user leaves a channel gets
// the unavailable presence after the cached presence it cancels.
func TestLeftDuringCatchUp(t *testing.T) {
	var hs *harness
	var leaving atomic.Bool
	router := hosttest.NewRecorder(func(ctx context.Context, d hosttest.Delivery) error {
		if d.To.String() != mixOther || !leaving.CompareAndSwap(false, true) {
			return nil
		}
		// The first cached presence reached the client: leave now.
		user, channel := jid.MustParse(userBare), jid.MustParse(coven)
		if _, err := hs.rosters.Delete(ctx, user, channel); err != nil {
			return err
		}
		return hs.h.Left(ctx, user, channel)
	})
	hs = &harness{t: t, sessions: host.NewMemSessions(), router: router, rosters: roster.NewMemStore()}
	hs.h = newHandler(hs.t, hs.sessions, hs.router, hs.rosters)
	hs.join(coven, roster.From)
	hs.online(mixClient, true)
	channelSays(hs, hecateIn, "", "<show>dnd</show>")
	channelSays(hs, thirdIn, "", "")
	hs.mark()

	hs.online(mixOther, true)
	require.Equal(t, []string{hecateIn + " dnd", thirdIn + " ", hecateIn + " unavailable", thirdIn + " unavailable"},
		froms(to(hs.deliveries(), mixOther)))
	require.Zero(t, hs.h.Stats().Entries)
}
