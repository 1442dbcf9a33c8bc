package roster_test

import (
	"encoding/xml"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/roster"
)

// TestLimits checks that every way of writing an item honours the Limits,
// with the stanza errors a client gets, and that the answer to a roster get
// of a full roster stays within the documented bound.
func TestLimits(t *testing.T) {
	t.Run("Counter store", func(t *testing.T) { testLimits(t, func(s *roster.MemStore) roster.Store { return s }) })
	t.Run("plain Store", func(t *testing.T) {
		testLimits(t, func(s *roster.MemStore) roster.Store { return struct{ roster.Store }{s} })
	})
}

func testLimits(t *testing.T, wrap func(*roster.MemStore) roster.Store) {
	const maxItems, maxItemBytes = 3, 300
	store := roster.NewMemStore()
	sessions := host.NewMemSessions()
	sessions.Add(host.Resource{JID: balcony, MIXCapable: true})
	rec := hosttest.NewRecorder(nil)
	h := newHandler(t, roster.HandlerConfig{Store: wrap(store), Sessions: sessions, Router: rec, Limits: roster.Limits{MaxItems: maxItems, MaxItemBytes: maxItemBytes}})
	ctx := testContext(t)

	set := func(contact, name string) string {
		t.Helper()
		before := len(rec.Deliveries())
		payload := fmt.Sprintf(`<query xmlns="jabber:iq:roster"><item jid="%s" name="%s"/></query>`, contact, name)
		require.NoError(t, h.ServeIQ(ctx, stanza.IQ{ID: "s", Type: stanza.SetIQ, From: balcony}, xmlDecoder(payload), host.RouteReplies(rec)))
		answers := parseAll(t, rec.Deliveries()[before:])
		require.NotEmpty(t, answers)
		if answers[0].Type == "error" {
			return answers[0].condition()
		}
		return answers[0].Type
	}
	long := strings.Repeat("&amp;", 60) // 60 bytes, 300 escaped
	for _, step := range []struct {
		contact, name, want string
	}{
		{"a@example.net", "A", "result"},
		{"b@example.net", long, "not-acceptable"}, // too large, even with room left
		{"b@example.net", "B", "result"},
		{"c@example.net", "", "result"},
		{"d@example.net", "", "policy-violation"}, // full
		{"a@example.net", "Still A", "result"},    // an update of an item is no new item
		{"a@example.net", long, "not-acceptable"}, // nor does it escape the size limit
	} {
		require.Equal(t, step.want, set(step.contact, step.name), "%s %q", step.contact, step.name)
	}
	items, _, err := store.Items(ctx, juliet)
	require.NoError(t, err)
	require.Len(t, items, maxItems)

	require.ErrorIs(t, h.SetSubscription(ctx, juliet, jid.MustParse("e@example.net"), roster.To, true), roster.ErrRosterFull)
	require.NoError(t, h.SetSubscription(ctx, juliet, jid.MustParse("a@example.net"), roster.To, true), "an existing item")
	require.ErrorIs(t, h.AddChannel(ctx, juliet, roster.ChannelItem(coven, "1", "", true)), roster.ErrRosterFull)

	before := len(rec.Deliveries())
	require.NoError(t, h.ServeIQ(ctx, stanza.IQ{ID: "r", Type: stanza.SetIQ, From: balcony},
		xmlDecoder(`<query xmlns="jabber:iq:roster"><item jid="c@example.net" subscription="remove"/></query>`), host.RouteReplies(rec)))
	require.Equal(t, "result", parseAll(t, rec.Deliveries()[before:])[0].Type)
	require.NoError(t, h.AddChannel(ctx, juliet, roster.ChannelItem(coven, "1", "", true)), "room again after a removal")

	// The answer to a get is bounded by the formula of Limits.
	before = len(rec.Deliveries())
	require.NoError(t, h.ServeIQ(ctx, stanza.IQ{ID: "g", Type: stanza.GetIQ, From: balcony},
		xmlDecoder(`<query xmlns="jabber:iq:roster"><annotate xmlns="urn:xmpp:mix:roster:0"/></query>`), host.RouteReplies(rec)))
	got := rec.Deliveries()[before:]
	require.Len(t, got, 1)
	bound := maxItems*maxItemBytes + 6*len("g") + 2*3071*6 + 200
	require.LessOrEqual(t, len(got[0].Stanza), bound)
	require.Len(t, parseIQ(t, got[0].Stanza).Query.Items, maxItems)
}

func xmlDecoder(s string) *xml.Decoder { return xml.NewDecoder(strings.NewReader(s)) }
