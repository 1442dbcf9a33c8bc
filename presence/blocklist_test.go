package presence

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/roster"
)

// blockSetup is fanOutSetup with a real blocklist: the user's MIX clients
// hold the presence of two participants of coven and one of brew, and share
// their presence with coven and brew.
func blockSetup(t *testing.T) (*harness, *blocking.MemStore) {
	t.Helper()
	store := blocking.NewMemStore()
	hs := newHarness(t, withBlock(mustFilter(t, store)))
	hs.join(coven, roster.From)
	hs.join(brew, roster.Both)
	hs.online(mixClient, true)
	hs.online(oldClient, false)
	hs.online(mixOther, true)
	for _, from := range []string{hecateIn, thirdIn, brewerIn} {
		require.True(t, hs.inbound(`<presence from='`+from+`' to='`+userBare+`'><status>here</status></presence>`))
	}
	hs.mark()
	return hs, store
}

// change applies a change to the store and tells the handler, as
// blocking.Handler does.
func (hs *harness) change(store *blocking.MemStore, unblock bool, items ...string) {
	hs.t.Helper()
	ctx, user := context.Background(), jid.MustParse(userBare)
	var js []jid.JID
	for _, it := range items {
		js = append(js, jid.MustParse(it))
	}
	apply := store.Block
	if unblock {
		apply = store.Unblock
	}
	changed, err := apply(ctx, user, js...)
	require.NoError(hs.t, err)
	require.NoError(hs.t, hs.h.BlocklistChanged(ctx, blocking.Change{User: user, Unblock: unblock, Items: changed}))
}

// summary renders deliveries as "to <- from type status", sorted.
func summary(ds []delivered) []string {
	out := []string{}
	for _, d := range ds {
		typ := d.Type
		if typ == "" {
			typ = "available"
		}
		out = append(out, d.To+" <- "+d.From+" "+typ+" "+d.Status)
	}
	slices.Sort(out)
	return out
}

// toClients is what each MIX client gets for every stanza of from, sorted
// like summary.
func toClients(what ...string) []string {
	var out []string
	for _, c := range []string{mixClient, mixOther} {
		for _, w := range what {
			out = append(out, c+" <- "+w)
		}
	}
	slices.Sort(out)
	return out
}

// toChannel is what channel gets from each MIX client.
func toChannel(channel, typ string) []string {
	status := " Making a Brew"
	if typ == "unavailable" {
		status = " "
	}
	return []string{channel + " <- " + mixClient + " " + typ + status, channel + " <- " + mixOther + " " + typ + status}
}

func TestBlocklistChanged(t *testing.T) {
	for _, tc := range []struct {
		name    string
		before  []string // blocked (and marked) before the change
		unblock bool
		items   []string
		want    []string
	}{{
		name:  "block one participant: only that sender goes offline",
		items: []string{"123435#coven@mix.shakespeare.example"},
		want:  toClients(hecateIn + " unavailable "),
	}, {
		name:  "block a participant's full JID",
		items: []string{hecateIn},
		want:  toClients(hecateIn + " unavailable "),
	}, {
		name:  "block a channel: its senders go offline and the channel gets unavailable presence",
		items: []string{coven},
		want: slices.Concat(toClients(hecateIn+" unavailable ", thirdIn+" unavailable "),
			toChannel(coven, "unavailable")),
	}, {
		name:  "block the MIX service domain: every channel",
		items: []string{"mix.shakespeare.example"},
		want: sorted(slices.Concat(toClients(hecateIn+" unavailable ", thirdIn+" unavailable ", brewerIn+" unavailable "),
			toChannel(coven, "unavailable"), toChannel(brew, "unavailable"))),
	}, {
		name:  "block someone else",
		items: []string{"romeo@montague.net"},
		want:  []string{},
	}, {
		name:    "unblock a participant: its cached presence comes back",
		before:  []string{"123435#coven@mix.shakespeare.example"},
		unblock: true,
		items:   []string{"123435#coven@mix.shakespeare.example"},
		want:    toClients(hecateIn + " available here"),
	}, {
		name:    "unblock a channel: its senders come back and it gets the clients' presence",
		before:  []string{coven},
		unblock: true,
		items:   []string{coven},
		want: slices.Concat(toClients(hecateIn+" available here", thirdIn+" available here"),
			toChannel(coven, "available")),
	}, {
		name:    "unblock a participant of a channel still blocked",
		before:  []string{coven, "123435#coven@mix.shakespeare.example"},
		unblock: true,
		items:   []string{"123435#coven@mix.shakespeare.example"},
		want:    []string{},
	}, {
		name:    "unblock all",
		before:  []string{brew, "123435#coven@mix.shakespeare.example"},
		unblock: true,
		want: sorted(slices.Concat(toClients(hecateIn+" available here", brewerIn+" available here"),
			toChannel(brew, "available"))),
	}, {
		name:   "block a participant already blocked with its channel",
		before: []string{coven},
		items:  []string{"123435#coven@mix.shakespeare.example"},
		want:   []string{},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			hs, store := blockSetup(t)
			if len(tc.before) > 0 {
				hs.change(store, false, tc.before...)
				hs.mark()
			}
			hs.change(store, tc.unblock, tc.items...)
			require.Equal(t, sorted(tc.want), summary(hs.deliveries()))
		})
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	if s == nil {
		return []string{}
	}
	return s
}

// While a participant is blocked its presence is kept up to date but not
// delivered, not even to a client coming online; the unblock shows the
// newest.
func TestBlockedPresenceKeptForUnblock(t *testing.T) {
	hs, store := blockSetup(t)
	participant := "123435#coven@mix.shakespeare.example"
	hs.change(store, false, participant)
	hs.mark()

	require.True(t, hs.inbound(`<presence from='`+hecateIn+`' to='`+userBare+`'><status>brewing</status></presence>`))
	require.Empty(t, hs.deliveries(), "presence from a blocked participant is not delivered")
	require.Equal(t, uint64(1), hs.counters().Blocked)

	late := userBare + "/late"
	hs.online(late, true)
	got := summary(to(hs.deliveries(), late))
	require.Equal(t, []string{late + " <- " + brewerIn + " available here", late + " <- " + thirdIn + " available here"}, got,
		"a client coming online gets the cache without the blocked sender")

	hs.change(store, true, participant)
	want := []string{}
	for _, c := range []string{late, mixClient, mixOther} {
		want = append(want, c+" <- "+hecateIn+" available brewing")
	}
	require.Equal(t, sorted(want), summary(hs.deliveries()))

	// Unavailable presence while blocked empties the cache: nothing to show
	// at the unblock.
	hs.change(store, false, participant)
	hs.mark()
	require.True(t, hs.inbound(`<presence type='unavailable' from='`+hecateIn+`' to='`+userBare+`'/>`))
	hs.change(store, true, participant)
	require.Empty(t, hs.deliveries())
}

// Leaving a channel sends no unavailable presence for a sender the user had
// blocked: the clients saw it go offline at the block.
func TestLeftSkipsBlockedSenders(t *testing.T) {
	hs, store := blockSetup(t)
	hs.change(store, false, "123435#coven@mix.shakespeare.example")
	hs.mark()
	require.NoError(t, hs.h.Left(context.Background(), jid.MustParse(userBare), jid.MustParse(coven)))
	require.Equal(t, toClients(thirdIn+" unavailable "), summary(hs.deliveries()))
}

// A block applied while the participant's presence keeps arriving ends
// with the clients seeing the participant offline: no available presence
// delivered with a verdict from before the block may reach them after the
// block's unavailable presence.
func TestBlockRacingPresence(t *testing.T) {
	participant := "123435#coven@mix.shakespeare.example"
	for round := range 100 {
		hs, store := blockSetup(t)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				p, payload := decode(t, `<presence from='`+hecateIn+`' to='`+userBare+`'><status>`+strconv.Itoa(i)+`</status></presence>`)
				err := hs.h.Inbound(context.Background(), p, payload)
				assert.NoError(t, err)
			}
		}()
		hs.change(store, false, participant)
		wg.Wait()
		for _, client := range []string{mixClient, mixOther} {
			var last delivered
			var seq []string
			for _, d := range to(hs.deliveries2(), client) {
				if d.From == hecateIn {
					last = d
					seq = append(seq, d.Type+":"+d.Status)
				}
			}
			require.Equal(t, "unavailable", last.Type, "round %d: the last presence %s got from the blocked participant: %v", round, client, seq)
		}
	}
}

// deliveries2 returns what was routed since the last reset, parsed,
// without resetting.
func (hs *harness) deliveries2() []delivered {
	hs.t.Helper()
	var out []delivered
	for _, d := range hs.router.Deliveries() {
		out = append(out, parseDelivery(hs.t, d))
	}
	return out
}
