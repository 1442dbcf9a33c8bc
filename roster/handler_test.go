package roster_test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/roster"
)

const (
	plainGet     = `<query xmlns='jabber:iq:roster'/>`
	annotatedGet = `<query xmlns='jabber:iq:roster'><annotate xmlns='urn:xmpp:mix:roster:0'/></query>`
)

func TestAnnotationIsPerSession(t *testing.T) {
	f := newFixture(t)
	ver := f.seed(t)
	ctx := testContext(t)

	// balcony asks for annotations, chamber does not, garden never asks.
	got := f.request(t, balcony, stanza.GetIQ, annotatedGet)
	require.Len(t, got, 1)
	res := got[0]
	require.Equal(t, "result", res.Type)
	require.Equal(t, "req-1", res.ID)
	require.Equal(t, juliet.String(), res.From)
	require.Equal(t, balcony.String(), res.To)
	require.Equal(t, fmt.Sprintf("%d+mix", ver), res.ver(t))
	require.Len(t, res.Query.Items, 3)
	require.Equal(t, "123456", res.item(t, coven).Channel.ParticipantID)
	require.Equal(t, "7890", res.item(t, tavern).Channel.ParticipantID)
	require.Nil(t, res.item(t, romeo).Channel, "a contact is not a channel")

	got = f.request(t, chamber, stanza.GetIQ, plainGet)
	require.Len(t, got, 1)
	require.Equal(t, strconv.FormatUint(ver, 10), got[0].ver(t))
	for _, it := range got[0].Query.Items {
		require.Nil(t, it.Channel, "annotated unasked: %s", it.JID)
	}

	require.True(t, f.flag(t, balcony))
	require.False(t, f.flag(t, chamber))
	require.False(t, f.flag(t, garden))

	// A push reaches every session, annotated only for balcony.
	f.rec.Reset()
	require.NoError(t, f.h.AddChannel(ctx, juliet, roster.ChannelItem(jid.MustParse("library@mix.example"), "p-42", "", true)))
	pushes := parseAll(t, f.rec.Deliveries())
	require.Len(t, pushes, 3)
	for _, p := range pushes {
		it := p.Query.Items[0]
		require.Equal(t, "library@mix.example", it.JID)
		require.Equal(t, "library", it.Name)
		require.Equal(t, "from", it.Subscription)
		if p.to == balcony.String() {
			require.NotNil(t, it.Channel)
			require.Equal(t, "p-42", it.Channel.ParticipantID)
			require.Equal(t, fmt.Sprintf("%d+mix", ver+1), p.ver(t))
		} else {
			require.Nil(t, it.Channel, "push to %s annotated unasked", p.to)
			require.Equal(t, strconv.FormatUint(ver+1, 10), p.ver(t))
		}
	}

	// A later plain get resets balcony's flag, and its pushes turn plain.
	got = f.request(t, balcony, stanza.GetIQ, plainGet)
	require.Nil(t, got[0].item(t, coven).Channel)
	require.False(t, f.flag(t, balcony))
	f.rec.Reset()
	require.NoError(t, f.h.SetChannelPresence(ctx, juliet, coven, false))
	for _, p := range parseAll(t, f.rec.Deliveries()) {
		require.Nil(t, p.Query.Items[0].Channel, "push to %s annotated unasked", p.to)
	}
}

func TestGetVersioning(t *testing.T) {
	f := newFixture(t)
	ver := strconv.FormatUint(f.seed(t), 10)
	const old = "1"
	for _, tc := range []struct {
		name      string
		query     string
		wantEmpty bool
	}{
		{"no ver", `<query xmlns='jabber:iq:roster'/>`, false},
		{"bootstrap", `<query xmlns='jabber:iq:roster' ver=''/>`, false},
		{"current", `<query xmlns='jabber:iq:roster' ver='` + ver + `'/>`, true},
		{"outdated", `<query xmlns='jabber:iq:roster' ver='` + old + `'/>`, false},
		{"unknown", `<query xmlns='jabber:iq:roster' ver='ver14'/>`, false},
		{"current annotated", `<query xmlns='jabber:iq:roster' ver='` + ver + `+mix'><annotate xmlns='urn:xmpp:mix:roster:0'/></query>`, true},
		{"outdated annotated", `<query xmlns='jabber:iq:roster' ver='` + old + `+mix'><annotate xmlns='urn:xmpp:mix:roster:0'/></query>`, false},
		{"plain cache, now annotated", `<query xmlns='jabber:iq:roster' ver='` + ver + `'><annotate xmlns='urn:xmpp:mix:roster:0'/></query>`, false},
		{"annotated cache, now plain", `<query xmlns='jabber:iq:roster' ver='` + ver + `+mix'/>`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := f.request(t, balcony, stanza.GetIQ, tc.query)
			require.Len(t, got, 1)
			require.Equal(t, "result", got[0].Type)
			if tc.wantEmpty {
				require.Nil(t, got[0].Query, "a current cache gets an empty result")
				return
			}
			require.NotNil(t, got[0].Query)
			require.Len(t, got[0].Query.Items, 3)
			require.Equal(t, ver, strings.TrimSuffix(got[0].ver(t), "+mix"))
		})
	}
}

func TestEmptyRoster(t *testing.T) {
	f := newFixture(t)
	got := f.request(t, balcony, stanza.GetIQ, plainGet)
	require.Len(t, got, 1)
	require.NotNil(t, got[0].Query, "an empty roster is an empty query, not an empty result")
	require.Empty(t, got[0].Query.Items)
	require.Equal(t, "0", got[0].ver(t))
}

func TestSetAddUpdateRemove(t *testing.T) {
	f := newFixture(t)
	ctx := testContext(t)
	// garden asks for annotations: pushes of contacts look the same anyway.
	f.request(t, garden, stanza.GetIQ, annotatedGet)

	// Add (RFC 6121 §2.3).
	got := f.request(t, balcony, stanza.SetIQ, `<query xmlns='jabber:iq:roster'>
		<item jid='nurse@example.com' name='Nurse' subscription='both' ask='subscribe' approved='true'>
			<group>Servants</group><x xmlns='urn:example:unknown'/>
		</item></query>`)
	require.Len(t, got, 4, "result and three pushes")
	require.Equal(t, "result", got[0].Type)
	require.Equal(t, balcony.String(), got[0].to)
	require.Nil(t, got[0].Query)
	for _, s := range []jid.JID{balcony, chamber, garden} {
		p := pushesTo(got, s)
		require.Len(t, p, 1, "push to %s", s)
		require.Equal(t, juliet.String(), p[0].From)
		require.Equal(t, uint64(1), p[0].verNumber(t))
		require.Equal(t, wireItem{JID: "nurse@example.com", Name: "Nurse", Subscription: "none", Groups: []string{"Servants"}},
			p[0].Query.Items[0], "the client cannot set subscription or ask")
	}

	// The host's presence handling changes the subscription; a client's
	// update of name and groups keeps it (RFC 6121 §2.4).
	require.NoError(t, f.h.SetSubscription(ctx, juliet, nurse, roster.To, true))
	got = f.request(t, chamber, stanza.SetIQ, `<query xmlns='jabber:iq:roster'><item jid='nurse@example.com'/></query>`)
	require.Len(t, got, 4)
	require.Equal(t, wireItem{JID: "nurse@example.com", Subscription: "to", Ask: "subscribe"}, pushesTo(got, balcony)[0].Query.Items[0])
	require.Equal(t, uint64(3), pushesTo(got, balcony)[0].verNumber(t))
	it, err := f.store.Item(ctx, juliet, nurse)
	require.NoError(t, err)
	require.Equal(t, roster.Item{JID: nurse, Subscription: roster.To, Ask: true}, it)

	// Remove (RFC 6121 §2.5).
	got = f.request(t, garden, stanza.SetIQ, `<query xmlns='jabber:iq:roster'><item jid='nurse@example.com' subscription='remove'/></query>`)
	require.Len(t, got, 4)
	require.Equal(t, "result", got[0].Type)
	for _, s := range []jid.JID{balcony, chamber, garden} {
		p := pushesTo(got, s)
		require.Len(t, p, 1)
		require.Equal(t, wireItem{JID: "nurse@example.com", Subscription: "remove"}, p[0].Query.Items[0])
		require.Equal(t, uint64(4), p[0].verNumber(t))
	}
	require.Equal(t, roster.Item{JID: nurse, Subscription: roster.To, Ask: true}, <-f.removed, "the host learns what was removed")
	_, err = f.store.Item(ctx, juliet, nurse)
	require.ErrorIs(t, err, roster.ErrNotFound)

	// Removing it again: item-not-found.
	got = f.request(t, garden, stanza.SetIQ, `<query xmlns='jabber:iq:roster'><item jid='nurse@example.com' subscription='remove'/></query>`)
	require.Len(t, got, 1)
	require.Equal(t, "item-not-found", got[0].condition())
}

// TestRefusals covers the requests the handler must refuse: each gets the
// right condition, back to the sender with the request's id, and changes
// nothing.
func TestRefusals(t *testing.T) {
	long := strings.Repeat("x", 1024)
	var groups strings.Builder
	for i := range 65 {
		fmt.Fprintf(&groups, "<group>g%d</group>", i)
	}
	for _, tc := range []struct {
		name    string
		typ     stanza.IQType
		to      string
		payload string
		want    string
	}{
		{"set of another user's roster", stanza.SetIQ, "romeo@example.net", `<query xmlns='jabber:iq:roster'><item jid='nurse@example.com'/></query>`, "forbidden"},
		{"get of another user's roster", stanza.GetIQ, "romeo@example.net", plainGet, "forbidden"},
		{"two items", stanza.SetIQ, "", `<query xmlns='jabber:iq:roster'><item jid='nurse@example.com'/><item jid='mother@example.com'/></query>`, "bad-request"},
		{"no item", stanza.SetIQ, "", `<query xmlns='jabber:iq:roster'/>`, "bad-request"},
		{"get with an item", stanza.GetIQ, "", `<query xmlns='jabber:iq:roster'><item jid='nurse@example.com'/></query>`, "bad-request"},
		{"no jid", stanza.SetIQ, "", `<query xmlns='jabber:iq:roster'><item name='Nurse'/></query>`, "bad-request"},
		{"invalid jid", stanza.SetIQ, "", `<query xmlns='jabber:iq:roster'><item jid='@example.com'/></query>`, "bad-request"},
		{"full jid", stanza.SetIQ, "", `<query xmlns='jabber:iq:roster'><item jid='nurse@example.com/home'/></query>`, "bad-request"},
		{"duplicate groups", stanza.SetIQ, "", `<query xmlns='jabber:iq:roster'><item jid='nurse@example.com'><group>Servants</group><group>Servants</group></item></query>`, "bad-request"},
		{"empty group", stanza.SetIQ, "", `<query xmlns='jabber:iq:roster'><item jid='nurse@example.com'><group></group></item></query>`, "not-acceptable"},
		{"long name", stanza.SetIQ, "", `<query xmlns='jabber:iq:roster'><item jid='nurse@example.com' name='` + long + `'/></query>`, "not-acceptable"},
		{"long group", stanza.SetIQ, "", `<query xmlns='jabber:iq:roster'><item jid='nurse@example.com'><group>` + long + `</group></item></query>`, "not-acceptable"},
		{"too many groups", stanza.SetIQ, "", `<query xmlns='jabber:iq:roster'><item jid='nurse@example.com'>` + groups.String() + `</item></query>`, "not-acceptable"},
		{"not a roster query", stanza.GetIQ, "", `<query xmlns='jabber:iq:version'/>`, "service-unavailable"},
		{"edit a channel", stanza.SetIQ, "", `<query xmlns='jabber:iq:roster'><item jid='coven@mix.shakespeare.example' name='Mine'><group>G</group></item></query>`, "not-allowed"},
		{"remove a channel", stanza.SetIQ, "", `<query xmlns='jabber:iq:roster'><item jid='coven@mix.shakespeare.example' subscription='remove'/></query>`, "not-allowed"},
		{"remove a channel by another name", stanza.SetIQ, "juliet@example.com", `<query xmlns='jabber:iq:roster'><item jid='COVEN@mix.shakespeare.example' subscription='remove'/></query>`, "not-allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ver := f.seed(t)
			ctx := testContext(t)
			before, _, err := f.store.Items(ctx, juliet)
			require.NoError(t, err)

			iq := stanza.IQ{ID: "bad-1", Type: tc.typ, From: balcony}
			if tc.to != "" {
				iq.To = jid.MustParse(tc.to)
			}
			require.NoError(t, f.h.ServeIQ(ctx, iq, xml.NewDecoder(strings.NewReader(tc.payload)), host.RouteReplies(f.rec)))
			got := parseAll(t, f.rec.Deliveries())
			require.Len(t, got, 1, "an error and no push")
			require.Equal(t, "error", got[0].Type)
			require.Equal(t, "bad-1", got[0].ID)
			require.Equal(t, balcony.String(), got[0].To)
			from := juliet.String()
			if tc.to != "" {
				from = tc.to
			}
			require.Equal(t, from, got[0].From, "the error comes from the JID addressed")
			require.Equal(t, tc.want, got[0].condition())

			after, afterVer, err := f.store.Items(ctx, juliet)
			require.NoError(t, err)
			require.Equal(t, before, after)
			require.Equal(t, ver, afterVer)
			require.False(t, f.flag(t, balcony), "a refused get sets no flag")
		})
	}
}

func TestNonRequestsGetNoAnswer(t *testing.T) {
	f := newFixture(t)
	ctx := testContext(t)
	for _, typ := range []stanza.IQType{stanza.ResultIQ, stanza.ErrorIQ} {
		iq := stanza.IQ{ID: "push-1", Type: typ, From: balcony}
		require.NoError(t, f.h.ServeIQ(ctx, iq, xml.NewDecoder(strings.NewReader("")), host.RouteReplies(f.rec)))
	}
	require.Empty(t, f.rec.Deliveries())

	err := f.h.ServeIQ(ctx, stanza.IQ{ID: "x", Type: stanza.GetIQ}, xml.NewDecoder(strings.NewReader(plainGet)), host.RouteReplies(f.rec))
	require.Error(t, err, "a request without from cannot be answered")
	require.Empty(t, f.rec.Deliveries())
}

func TestUnreadablePayload(t *testing.T) {
	f := newFixture(t)
	ctx := testContext(t)
	iq := stanza.IQ{ID: "broken", Type: stanza.SetIQ, From: balcony}
	err := f.h.ServeIQ(ctx, iq, xml.NewDecoder(strings.NewReader(`<query xmlns='jabber:iq:roster'><item jid='nurse@example.com'>`)), host.RouteReplies(f.rec))
	require.Error(t, err)
	got := parseAll(t, f.rec.Deliveries())
	require.Len(t, got, 1)
	require.Equal(t, "bad-request", got[0].condition())
}

func TestChannelPresence(t *testing.T) {
	f := newFixture(t)
	ver := f.seed(t)
	ctx := testContext(t)

	// coven shares presence: from. Stop sharing: none, pushed.
	require.NoError(t, f.h.SetChannelPresence(ctx, juliet, coven, false))
	pushes := parseAll(t, f.rec.Deliveries())
	require.Len(t, pushes, 3)
	for _, p := range pushes {
		require.Equal(t, wireItem{JID: coven.String(), Name: "The Coven", Subscription: "none"}, p.Query.Items[0])
		require.Equal(t, ver+1, p.verNumber(t))
	}
	it, err := f.store.Item(ctx, juliet, coven)
	require.NoError(t, err)
	require.Equal(t, roster.None, it.Subscription)
	require.True(t, it.Channel)
	require.Equal(t, "123456", it.ParticipantID)

	// Unchanged preference: no change, no push.
	f.rec.Reset()
	require.NoError(t, f.h.SetChannelPresence(ctx, juliet, coven, false))
	require.Empty(t, f.rec.Deliveries())
	_, v, err := f.store.Items(ctx, juliet)
	require.NoError(t, err)
	require.Equal(t, ver+1, v)

	// Share again: from.
	require.NoError(t, f.h.SetChannelPresence(ctx, juliet, coven, true))
	require.Equal(t, "from", parseAll(t, f.rec.Deliveries())[0].Query.Items[0].Subscription)

	require.ErrorIs(t, f.h.SetChannelPresence(ctx, juliet, romeo, true), roster.ErrNotChannel)
	require.ErrorIs(t, f.h.SetChannelPresence(ctx, juliet, nurse, true), roster.ErrNotFound)
}

func TestRemoveChannel(t *testing.T) {
	f := newFixture(t)
	ver := f.seed(t)
	ctx := testContext(t)

	require.ErrorIs(t, f.h.RemoveChannel(ctx, juliet, romeo), roster.ErrNotChannel, "a contact is not left like a channel")
	require.ErrorIs(t, f.h.RemoveChannel(ctx, juliet, nurse), roster.ErrNotFound)
	require.Empty(t, f.rec.Deliveries())

	require.NoError(t, f.h.RemoveChannel(ctx, juliet, coven))
	pushes := parseAll(t, f.rec.Deliveries())
	require.Len(t, pushes, 3)
	for _, p := range pushes {
		require.Equal(t, wireItem{JID: coven.String(), Subscription: "remove"}, p.Query.Items[0])
		require.Equal(t, ver+1, p.verNumber(t))
	}
	_, err := f.store.Item(ctx, juliet, coven)
	require.ErrorIs(t, err, roster.ErrNotFound)
	_, err = f.store.Item(ctx, juliet, romeo)
	require.NoError(t, err)
}

func TestChannel(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	ctx := testContext(t)
	for _, tc := range []struct {
		name    string
		channel jid.JID
		want    roster.Item
		err     error
	}{
		{name: "channel", channel: coven, want: roster.ChannelItem(coven, "123456", "The Coven", true)},
		{name: "full JID", channel: jid.MustParse("coven@mix.shakespeare.example/x"), want: roster.ChannelItem(coven, "123456", "The Coven", true)},
		{name: "ordinary contact", channel: romeo, err: roster.ErrNotChannel},
		{name: "not in the roster", channel: nurse, err: roster.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it, err := f.h.Channel(ctx, balcony, tc.channel)
			require.ErrorIs(t, err, tc.err)
			require.Equal(t, tc.want, it)
		})
	}
	_, err := newHandler(t, roster.HandlerConfig{Store: failingStore{f.store}, Sessions: f.sessions, Router: f.rec}).Channel(ctx, juliet, coven)
	require.ErrorIs(t, err, errDisk)
	require.Empty(t, f.rec.Deliveries(), "reading pushes nothing")
}

func TestSetSubscription(t *testing.T) {
	f := newFixture(t)
	ver := f.seed(t)
	ctx := testContext(t)

	require.ErrorIs(t, f.h.SetSubscription(ctx, juliet, coven, roster.Both, false), roster.ErrChannel)
	require.Error(t, f.h.SetSubscription(ctx, juliet, romeo, roster.Remove, false))
	require.Empty(t, f.rec.Deliveries())

	// An outbound subscription request to a new contact (RFC 6121 §3.1.2).
	require.NoError(t, f.h.SetSubscription(ctx, juliet, nurse, roster.None, true))
	pushes := parseAll(t, f.rec.Deliveries())
	require.Len(t, pushes, 3)
	require.Equal(t, wireItem{JID: nurse.String(), Subscription: "none", Ask: "subscribe"}, pushes[0].Query.Items[0])
	require.Equal(t, ver+1, pushes[0].verNumber(t))

	// An existing contact keeps its name and groups.
	require.NoError(t, f.h.SetSubscription(ctx, juliet, romeo, roster.From, false))
	it, err := f.store.Item(ctx, juliet, romeo)
	require.NoError(t, err)
	require.Equal(t, roster.Item{JID: romeo, Name: "Romeo", Subscription: roster.From, Groups: []string{"Friends"}}, it)
}

// TestConcurrentJoinsAndLeaves checks that versions only grow, that every
// session sees the pushes in version order, and that a client that
// reconnects with a cached version sees the changes.
func TestConcurrentJoinsAndLeaves(t *testing.T) {
	f := newFixture(t)
	ctx := testContext(t)
	got := f.request(t, chamber, stanza.GetIQ, plainGet)
	cached := got[0].ver(t)
	f.rec.Reset()

	const workers, channels = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers*channels*2)
	for w := range workers {
		wg.Go(func() {
			for c := range channels {
				ch := jid.MustParse(fmt.Sprintf("w%dc%d@mix.example", w, c))
				errs <- f.h.AddChannel(ctx, juliet, roster.ChannelItem(ch, fmt.Sprint(c), "", true))
				if c%2 == 0 {
					errs <- f.h.RemoveChannel(ctx, juliet, ch)
				}
			}
		})
	}
	// Roster gets race with the changes too.
	wg.Go(func() {
		for range 20 {
			iq := stanza.IQ{ID: "get", Type: stanza.GetIQ, From: garden}
			errs <- f.h.ServeIQ(ctx, iq, xml.NewDecoder(strings.NewReader(annotatedGet)), host.RouteReplies(f.rec))
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	const leaves = (channels + 1) / 2
	const changes, remaining = workers * (channels + leaves), workers * (channels - leaves)
	items, ver, err := f.store.Items(ctx, juliet)
	require.NoError(t, err)
	require.Equal(t, uint64(changes), ver, "every join and leave bumps the version")
	require.Len(t, items, remaining)

	all := parseAll(t, f.rec.Deliveries())
	for _, s := range []jid.JID{balcony, chamber, garden} {
		var last uint64
		n := 0
		for _, w := range all {
			if w.to != s.String() || w.Query == nil {
				continue
			}
			// A push brings a new version; a result may repeat the last.
			v := w.verNumber(t)
			if w.Type == "set" {
				require.Greater(t, v, last, "%s got push %d after version %d", s, v, last)
				n++
			} else {
				require.GreaterOrEqual(t, v, last, "%s got result %d after version %d", s, v, last)
			}
			last = v
		}
		require.Equal(t, changes, n, "pushes to %s", s)
	}

	// chamber reconnects with the version it cached before.
	got = f.request(t, chamber, stanza.GetIQ, `<query xmlns='jabber:iq:roster' ver='`+cached+`'/>`)
	require.Len(t, got[0].Query.Items, remaining)
	require.Equal(t, fmt.Sprint(changes), got[0].ver(t))
}

func TestStoreFailure(t *testing.T) {
	rec := newFixture(t)
	h := newHandler(t, roster.HandlerConfig{Store: failingStore{rec.store}, Sessions: rec.sessions, Router: rec.rec})
	ctx := testContext(t)
	for _, payload := range []string{plainGet, `<query xmlns='jabber:iq:roster'><item jid='nurse@example.com'/></query>`} {
		typ := stanza.GetIQ
		if strings.Contains(payload, "item") {
			typ = stanza.SetIQ
		}
		rec.rec.Reset()
		require.NoError(t, h.ServeIQ(ctx, stanza.IQ{ID: "s", Type: typ, From: balcony}, xml.NewDecoder(strings.NewReader(payload)), host.RouteReplies(rec.rec)))
		got := parseAll(t, rec.rec.Deliveries())
		require.Len(t, got, 1)
		require.Equal(t, "internal-server-error", got[0].condition())
	}
	require.Error(t, h.AddChannel(ctx, juliet, roster.ChannelItem(coven, "1", "", true)))
}

// A get answered internal-server-error leaves the session's Annotate flag
// as it was: the client did not get the roster it asked for.
func TestGetFailureKeepsAnnotateFlag(t *testing.T) {
	for _, tc := range []struct {
		name    string
		before  bool
		payload string
	}{
		{"annotated get, flag clear", false, annotatedGet},
		{"plain get, flag set", true, plainGet},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := testContext(t)
			require.NoError(t, f.sessions.SetAnnotate(ctx, balcony, tc.before))
			h := newHandler(t, roster.HandlerConfig{Store: failingStore{f.store}, Sessions: f.sessions, Router: f.rec})
			require.NoError(t, h.ServeIQ(ctx, stanza.IQ{ID: "g", Type: stanza.GetIQ, From: balcony},
				xml.NewDecoder(strings.NewReader(tc.payload)), host.RouteReplies(f.rec)))
			got := parseAll(t, f.rec.Deliveries())
			require.Len(t, got, 1)
			require.Equal(t, "internal-server-error", got[0].condition())
			require.Equal(t, tc.before, f.flag(t, balcony))

			// The same get over a working store changes the flag.
			require.NoError(t, f.h.ServeIQ(ctx, stanza.IQ{ID: "g", Type: stanza.GetIQ, From: balcony},
				xml.NewDecoder(strings.NewReader(tc.payload)), host.RouteReplies(f.rec)))
			require.Equal(t, !tc.before, f.flag(t, balcony))
		})
	}
}

type failingStore struct{ roster.Store }

var errDisk = errors.New("disk on fire")

func (failingStore) Items(context.Context, jid.JID) ([]roster.Item, uint64, error) {
	return nil, 0, errDisk
}

func (failingStore) Item(context.Context, jid.JID, jid.JID) (roster.Item, error) {
	return roster.Item{}, errDisk
}

func (failingStore) Put(context.Context, jid.JID, roster.Item) (uint64, error) {
	return 0, errDisk
}

func TestChannelItem(t *testing.T) {
	for _, tc := range []struct {
		name  string
		given string
		share bool
		want  roster.Item
	}{
		{"named, sharing", "The Coven", true, roster.Item{JID: coven, Name: "The Coven", Subscription: roster.From, Channel: true, ParticipantID: "p1"}},
		{"unnamed, not sharing", "", false, roster.Item{JID: coven, Name: "coven", Subscription: roster.None, Channel: true, ParticipantID: "p1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withResource, err := coven.WithResource("x")
			require.NoError(t, err)
			require.Equal(t, tc.want, roster.ChannelItem(withResource, "p1", tc.given, tc.share))
		})
	}
}

// A HandlerConfig without one of its required fields is refused with an
// error naming the field, not a Handler that panics on its first request.
func TestNewHandlerRefusesIncompleteConfig(t *testing.T) {
	full := roster.HandlerConfig{Store: roster.NewMemStore(), Sessions: host.NewMemSessions(), Router: hosttest.NewRecorder(nil)}
	for _, tc := range []struct {
		field string
		clear func(*roster.HandlerConfig)
	}{
		{"Store", func(c *roster.HandlerConfig) { c.Store = nil }},
		{"Sessions", func(c *roster.HandlerConfig) { c.Sessions = nil }},
		{"Router", func(c *roster.HandlerConfig) { c.Router = nil }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			c := full
			tc.clear(&c)
			h, err := roster.NewHandler(c)
			require.ErrorContains(t, err, "HandlerConfig."+tc.field+" is required")
			require.Nil(t, h)
		})
	}
	h, err := roster.NewHandler(full)
	require.NoError(t, err)
	require.NotNil(t, h)
}
