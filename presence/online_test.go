package presence

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/roster"
)

func TestComingOnlineGetsCachedPresence(t *testing.T) {
	hs := newHarness(t)
	hs.join(coven, roster.From)
	hs.join(brew, roster.None) // presence not shared, but received
	hs.online(mixOther, true)
	require.ElementsMatch(t, []string{coven, brew}, tos(refreshes(hs.deliveries())))
	channelSays(hs, hecateIn, "id='a'", "<show>dnd</show>")
	channelSays(hs, brewerIn, "", "<status>brewing</status>")
	hs.outbound(mixOther, `<presence type='unavailable'/>`)
	hs.deliveries()

	hs.online(oldClient, false)
	require.Empty(t, hs.deliveries(), "a client that is not MIX capable gets no channel presence")

	hs.online(mixClient, true)
	got := hs.deliveries()
	require.Empty(t, refreshes(got), "the channels answered a refresh: the cache answers for them")
	require.Equal(t, []delivered{
		{RoutedTo: mixClient, To: mixClient, From: hecateIn, ID: "a", Show: "dnd"},
		{RoutedTo: mixClient, To: mixClient, From: brewerIn, Status: "brewing"},
	}, to(got, mixClient))

	hs.outbound(mixClient, `<presence><show>away</show></presence>`)
	require.Empty(t, to(hs.deliveries(), mixClient), "only the first available presence brings the cache")
}

func TestRefreshOnceAfterRestart(t *testing.T) {
	hs := newHarness(t)
	hs.join(coven, roster.From)
	hs.join(brew, roster.None)
	channelSays(hs, hecateIn, "", "")
	channelSays(hs, brewerIn, "", "")

	hs.restart() // the cache is gone
	hs.connect(mixClient, true)
	hs.connect(mixOther, true)
	var wg sync.WaitGroup
	for _, c := range []string{mixClient, mixOther} {
		wg.Go(func() {
			p, payload := decode(t, clientPresence)
			p.From = jid.MustParse(c)
			assert.NoError(t, hs.h.Outbound(context.Background(), p, payload))
		})
	}
	wg.Wait()
	hs.online(userBare+"/third", true)

	got := refreshes(hs.deliveries())
	require.ElementsMatch(t, []delivered{
		{RoutedTo: coven, To: coven, From: userBare},
		{RoutedTo: brew, To: brew, From: userBare},
	}, got, "§2.9.3: directed presence from the bare JID, once per channel")
	require.Equal(t, uint64(2), hs.h.Stats().Refreshes)
}

func TestRefreshEndsWithChannelAnswerOrTimeout(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	hs := newHarness(t, withRefresh(time.Minute))
	hs.h.now = clock.now
	hs.join(coven, roster.From)
	hs.join(brew, roster.From)

	hs.online(userBare+"/1", true)
	require.ElementsMatch(t, []string{coven, brew}, tos(refreshes(hs.deliveries())))

	// coven answers with its presence; brew, where nobody shares presence,
	// answers with an error.
	channelSays(hs, hecateIn, "", "")
	p, payload := decode(t, `<presence type='error' from='`+brew+`' to='`+userBare+`'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`)
	err := hs.h.Inbound(context.Background(), p, payload)
	require.NoError(t, err, "handled")
	require.Len(t, hs.deliveries(), 1, "the error goes nowhere; hecate's presence to the client")

	hs.online(userBare+"/2", true)
	require.Equal(t, []string{brew}, tos(refreshes(hs.deliveries())), "brew has nothing cached and no refresh in progress")

	clock.t = clock.t.Add(time.Minute - time.Second)
	hs.online(userBare+"/3", true)
	require.Empty(t, refreshes(hs.deliveries()), "refresh of brew still in progress")

	clock.t = clock.t.Add(time.Second)
	hs.online(userBare+"/4", true)
	require.Equal(t, []string{brew}, tos(refreshes(hs.deliveries())), "the refresh timed out")
}

func TestRefreshWhenLastClientLeaves(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  []option
		again int // refreshes when the client comes back
	}{
		{name: "kept: the answer will be cached", again: 0},
		{name: "discarded: the answer would be lost", opts: []option{discardOffline}, again: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t, tc.opts...)
			hs.join(coven, roster.From)
			hs.online(mixClient, true)
			require.Len(t, refreshes(hs.deliveries()), 1)
			hs.outbound(mixClient, `<presence type='unavailable'/>`)
			hs.online(mixClient, true)
			require.Len(t, refreshes(hs.deliveries()), tc.again)
			hs.online(mixOther, true)
			require.Empty(t, refreshes(hs.deliveries()))
		})
	}
}

// TestCatchUpOrder has the channel answer a client's presence at once,
// from inside the router, as an in-process channel does: the update must
// reach the client after the cached presence it supersedes, and the handler
// must not deadlock.
func TestCatchUpOrder(t *testing.T) {
	var h *Handler
	reacted := false
	router := hosttest.NewRecorder(func(ctx context.Context, d hosttest.Delivery) error {
		if d.To.String() != coven || reacted {
			return nil
		}
		reacted = true
		p, payload := decode(t, `<presence from='`+hecateIn+`' to='`+userBare+`'><show>chat</show></presence>`)
		err := h.Inbound(ctx, p, payload)
		return err
	})
	sessions := host.NewMemSessions()
	rosters := roster.NewMemStore()
	hs := &harness{t: t, sessions: sessions, router: router, rosters: rosters}
	h = newHandler(t, sessions, router, rosters)
	hs.h = h
	hs.join(coven, roster.From)
	channelSays(hs, hecateIn, "", "<show>dnd</show>")

	hs.online(mixClient, true)
	require.Equal(t, []string{hecateIn + " dnd", hecateIn + " chat"}, froms(to(hs.deliveries(), mixClient)))
	require.Equal(t, Stats{Entries: 1, Refreshes: 1}, h.Stats())
}

// TestConcurrentTraffic runs clients and channels at once, for the race
// detector, and checks that the bounds hold.
func TestConcurrentTraffic(t *testing.T) {
	hs := newHarness(t, withCache(5, 8))
	hs.join(coven, roster.From)
	const other = "witch@shakespeare.example"
	hs.joinAs(other, coven, roster.From)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			senders := []string{hecateIn, thirdIn, "5#coven@mix.shakespeare.example/a", "6#coven@mix.shakespeare.example/b"}
			for n := range 50 {
				user := userBare
				if (n+i)%2 == 0 {
					user = other
				}
				typ := ""
				if n%5 == 0 {
					typ = "type='unavailable'"
				}
				p, payload := decode(t, `<presence `+typ+` from='`+senders[(n+i)%4]+string(rune('a'+i))+`' to='`+user+`'/>`)
				err := hs.h.Inbound(ctx, p, payload)
				assert.NoError(t, err)
			}
		})
		wg.Go(func() {
			for range 10 {
				for _, c := range []string{userBare + "/c" + string(rune('0'+i)), other + "/c" + string(rune('0'+i))} {
					hs.connect(c, true)
					p, payload := decode(t, clientPresence)
					p.From = jid.MustParse(c)
					assert.NoError(t, hs.h.Outbound(ctx, p, payload))
					assert.NoError(t, hs.h.Disconnected(ctx, p.From))
				}
			}
		})
	}
	wg.Wait()
	st := hs.h.Stats()
	require.LessOrEqual(t, st.Entries, 8)
	require.NotZero(t, st.Evicted)
	hs.h.state.mu.Lock()
	defer hs.h.state.mu.Unlock()
	for _, u := range hs.h.state.users {
		require.Empty(t, u.sessions, "every session went offline")
		require.LessOrEqual(t, len(u.cache), 5)
	}
}

func TestComingOnlineForgetsLeftChannels(t *testing.T) {
	hs := newHarness(t)
	hs.join(coven, roster.From)
	hs.join(brew, roster.From)
	channelSays(hs, hecateIn, "", "")
	channelSays(hs, brewerIn, "", "")
	_, err := hs.rosters.Delete(context.Background(), jid.MustParse(userBare), jid.MustParse(brew))
	require.NoError(t, err)

	hs.online(mixClient, true)
	got := hs.deliveries()
	require.Equal(t, []string{hecateIn + " "}, froms(to(got, mixClient)), "nothing from a channel the user left")
	require.Equal(t, []string{coven}, tos(refreshes(got)))
	require.Equal(t, 1, hs.h.Stats().Entries)
}
