package roster_test

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/roster"
)

func TestAppendItem(t *testing.T) {
	channel := roster.ChannelItem(coven, `p"1&<`, "The Coven", true)
	for _, tc := range []struct {
		name     string
		item     roster.Item
		annotate bool
		want     string
	}{
		{"contact", roster.Item{JID: romeo}, false,
			`<item jid="romeo@example.net" subscription="none"/>`},
		{"escaped name and groups", roster.Item{JID: romeo, Name: `R"o<m>e&o`, Subscription: roster.Both, Groups: []string{"A&B", "<C>"}}, false,
			`<item jid="romeo@example.net" name="R&quot;o&lt;m&gt;e&amp;o" subscription="both"><group>A&amp;B</group><group>&lt;C&gt;</group></item>`},
		{"pending out", roster.Item{JID: romeo, Subscription: roster.None, Ask: true}, false,
			`<item jid="romeo@example.net" subscription="none" ask="subscribe"/>`},
		{"removal", roster.Item{JID: romeo, Name: "Romeo", Subscription: roster.Remove, Ask: true, Groups: []string{"G"}}, true,
			`<item jid="romeo@example.net" subscription="remove"/>`},
		{"channel, plain", channel, false,
			`<item jid="coven@mix.shakespeare.example" name="The Coven" subscription="from"/>`},
		{"channel, annotated (XEP-0405 §2.10 listing 19)", channel, true,
			`<item jid="coven@mix.shakespeare.example" name="The Coven" subscription="from"><channel xmlns="urn:xmpp:mix:roster:0" participant-id="p&quot;1&amp;&lt;"/></item>`},
		{"contact, annotated", roster.Item{JID: romeo, Groups: []string{"G"}}, true,
			`<item jid="romeo@example.net" subscription="none"><group>G</group></item>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, string(roster.AppendItem([]byte(nil), tc.item, tc.annotate)))
		})
	}
}

func TestPusher(t *testing.T) {
	ctx := testContext(t)
	sessions := host.NewMemSessions()
	sessions.Add(host.Resource{JID: balcony, Interested: true, Annotate: true})
	sessions.Add(host.Resource{JID: chamber, Interested: true})
	rec := hosttest.NewRecorder(nil)
	p := roster.Pusher{Sessions: sessions, Router: rec}

	require.NoError(t, p.Push(ctx, balcony, roster.ChannelItem(coven, "123456", "", true), 7))
	got := parseAll(t, rec.Deliveries())
	require.Len(t, got, 2)
	ids := map[string]bool{}
	for _, w := range got {
		require.Equal(t, "set", w.Type)
		require.Equal(t, juliet.String(), w.From, "pushes come from the bare JID (RFC 6121 §2.1.6)")
		require.False(t, ids[w.ID], "push ids are unique")
		ids[w.ID] = true
	}
	require.Equal(t, balcony.String(), got[0].To)
	require.Equal(t, "7+mix", got[0].ver(t))
	require.Equal(t, "123456", got[0].Query.Items[0].Channel.ParticipantID)
	require.Equal(t, chamber.String(), got[1].To)
	require.Equal(t, "7", got[1].ver(t))
	require.Nil(t, got[1].Query.Items[0].Channel)

	// Nobody online: nothing to do.
	require.NoError(t, p.Push(ctx, jid.MustParse("romeo@example.net"), roster.Item{JID: nurse}, 1))
	require.Len(t, rec.Deliveries(), 2)
}

// TestPushesOnlyToInterestedResources checks RFC 6121 §2.1.6: a roster push
// goes to the sessions that requested the roster, with or without
// annotation, and not to a session that never did.
func TestPushesOnlyToInterestedResources(t *testing.T) {
	ctx := testContext(t)
	sessions := host.NewMemSessions()
	for _, s := range []jid.JID{balcony, chamber, garden} {
		sessions.Add(host.Resource{JID: s, MIXCapable: true})
	}
	rec := hosttest.NewRecorder(nil)
	h := newHandler(t, roster.HandlerConfig{Store: roster.NewMemStore(), Sessions: sessions, Router: rec})
	get := func(session jid.JID, id, payload string) {
		t.Helper()
		iq := stanza.IQ{ID: id, Type: stanza.GetIQ, From: session}
		require.NoError(t, h.ServeIQ(ctx, iq, xml.NewDecoder(strings.NewReader(payload)), host.RouteReplies(rec)))
	}
	get(balcony, "g1", `<query xmlns="jabber:iq:roster"/>`)
	get(chamber, "g2", `<query xmlns="jabber:iq:roster"><annotate xmlns="urn:xmpp:mix:roster:0"/></query>`)
	before := len(rec.Deliveries())

	iq := stanza.IQ{ID: "s1", Type: stanza.SetIQ, From: garden}
	require.NoError(t, h.ServeIQ(ctx, iq, xml.NewDecoder(strings.NewReader(`<query xmlns="jabber:iq:roster"><item jid="`+nurse.String()+`"/></query>`)), host.RouteReplies(rec)))
	var pushed []string
	for _, w := range parseAll(t, rec.Deliveries()[before:]) {
		if w.Type == "set" {
			pushed = append(pushed, w.To)
		}
	}
	require.ElementsMatch(t, []string{balcony.String(), chamber.String()}, pushed,
		"pushes go to the sessions that requested the roster, not to %s that only set an item", garden)
}
