package mixservice

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host/hosttest"
)

// joinIQ is the join of XEP-0369 §7.1.2 (Example "User's Server sends Join
// request to MIX Channel") from from, with the given children.
func joinIQ(from, children string) string {
	return `<iq type='set' from='` + from + `' to='` + coven + `' id='E6E10350-76CF-40C6-B91B-1EA08C332FC7'>` +
		`<join xmlns='urn:xmpp:mix:core:1'>` + children + `</join></iq>`
}

func TestJoin(t *testing.T) {
	h := newHarness(t, Limits{})
	h.create("coven", hecateRes)
	hecateID, _ := h.join(coven, hecate, "top witch", allNodes)

	out := h.deliver(joinIQ(hag66, allNodes+`<nick>third witch</nick>`))
	require.Len(t, out, 3, "the result and a participants notification for each subscriber")

	// The result (XEP-0369 §7.1.2, XEP-0405 Listing 6), to the user's bare
	// JID, from the channel.
	res := out[0]
	res.requireResult(t, "E6E10350-76CF-40C6-B91B-1EA08C332FC7")
	require.Equal(t, hag66, res.to.String())
	require.Equal(t, coven, res.attr("from"))
	join := res.child("join")
	require.Equal(t, "urn:xmpp:mix:core:1", join.XMLName.Space)
	id := join.attr("id")
	require.NotEmpty(t, id)
	require.NotContains(t, id, "#")
	require.NotContains(t, id, "/")
	require.NotContains(t, id, "@")
	require.NotEqual(t, hecateID, id)
	require.Equal(t, id+"#"+coven, join.attr("jid"))
	var nodes []string
	for _, s := range join.all("subscribe") {
		nodes = append(nodes, s.attr("node"))
	}
	require.Equal(t, []string{"urn:xmpp:mix:nodes:messages", "urn:xmpp:mix:nodes:presence", "urn:xmpp:mix:nodes:participants", "urn:xmpp:mix:nodes:info"}, nodes)
	require.Equal(t, "third witch", join.child("nick").Text)

	// The participants node notification, to every subscriber, the new
	// participant included (Example "Channel Distributes New Participant
	// Information").
	notes := out[1:]
	require.ElementsMatch(t, []string{hecate, hag66}, recipients(notes))
	for _, n := range notes {
		require.Equal(t, coven, n.attr("from"))
		items := n.path("event", "items")
		require.Equal(t, "http://jabber.org/protocol/pubsub#event", n.child("event").XMLName.Space)
		require.Equal(t, "urn:xmpp:mix:nodes:participants", items.attr("node"))
		require.Equal(t, id, items.child("item").attr("id"))
		p := items.path("item", "participant")
		require.Equal(t, "urn:xmpp:mix:core:1", p.XMLName.Space)
		require.Equal(t, hag66, p.child("jid").Text)
		require.Equal(t, "third witch", p.child("nick").Text)
	}

	ch, ok := h.svc.Channel(jid.MustParse(coven))
	require.True(t, ok)
	require.Len(t, ch.Participants, 2)
	require.Equal(t, ParticipantInfo{ID: id, JID: jid.MustParse(hag66), Nick: "third witch", Nodes: nodes}, ch.Participants[1])
}

func TestJoinRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limits Limits
		iq     string
		cond   string
		text   string
	}{
		{name: "from a client", iq: joinIQ(hag66Res, allNodes+`<nick>third witch</nick>`), cond: "not-allowed", text: "client-join"},
		{name: "no nick", iq: joinIQ(hag66, allNodes), cond: "not-acceptable", text: "requires a nick"},
		{name: "empty nick", iq: joinIQ(hag66, `<nick> </nick>`), cond: "not-acceptable", text: "PRECIS"},
		{name: "control character in nick", iq: joinIQ(hag66, "<nick>a\u0085b</nick>"), cond: "not-acceptable"},
		{name: "nick too long", iq: joinIQ(hag66, `<nick>`+strings.Repeat("é", 33)+`</nick>`), cond: "not-acceptable", text: "64 bytes"},
		{name: "nick taken", iq: joinIQ(hag66, `<nick>top witch</nick>`), cond: "conflict"},
		{name: "nick taken, other case and spaces", iq: joinIQ(hag66, `<nick>  Top   Witch </nick>`), cond: "conflict"},
		{name: "no node exists", iq: joinIQ(hag66, `<subscribe node='urn:xmpp:mix:nodes:config'/><subscribe node='x'/><nick>w</nick>`), cond: "item-not-found", text: "urn:xmpp:mix:nodes:config"},
		{name: "no such channel", iq: strings.Replace(joinIQ(hag66, `<nick>w</nick>`), coven, "spells@"+service, 1), cond: "item-not-found"},
		{name: "channel full", limits: Limits{Participants: 1}, iq: joinIQ(hag66, `<nick>w</nick>`), cond: "resource-constraint"},
		{name: "join as a get", iq: strings.Replace(joinIQ(hag66, `<nick>w</nick>`), "type='set'", "type='get'", 1), cond: "bad-request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.limits)
			h.create("coven", hecateRes)
			h.join(coven, hecate, "top witch", allNodes)
			before := h.svc.Channels()

			out := h.deliver(tc.iq)
			require.Len(t, out, 1, "an error and nothing else")
			out[0].requireError(t, "iq", "E6E10350-76CF-40C6-B91B-1EA08C332FC7", tc.cond)
			require.Contains(t, out[0].raw, tc.text)
			require.Equal(t, before, h.svc.Channels(), "nothing changed")
		})
	}
}

func TestJoinSomeNodes(t *testing.T) {
	h := newHarness(t, Limits{})
	h.create("coven", hecateRes)
	// Unknown nodes are left out of the result (§7.1.2), repeated ones
	// listed once; no participants subscription, no notification.
	out := h.deliver(joinIQ(hag66, `<subscribe node='urn:xmpp:mix:nodes:config'/><subscribe node='urn:xmpp:mix:nodes:messages'/><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>w</nick>`))
	require.Len(t, out, 1)
	subs := out[0].child("join").all("subscribe")
	require.Len(t, subs, 1)
	require.Equal(t, "urn:xmpp:mix:nodes:messages", subs[0].attr("node"))

	// No node at all is a valid join (§7.1.2 "MAY join and not subscribe
	// to any nodes").
	out = h.deliver(strings.Replace(joinIQ(peter, `<nick>p</nick>`), "E6E1", "none", 1))
	require.Len(t, out, 1)
	require.Empty(t, out[0].child("join").all("subscribe"))
}

func TestJoinAgain(t *testing.T) {
	h := newHarness(t, Limits{})
	h.create("coven", hecateRes)
	h.join(coven, hecate, "top witch", allNodes)
	id, _ := h.join(coven, hag66, "third witch", allNodes)
	h.deliver(`<presence from='` + hag66Res + `' to='` + coven + `'><show>dnd</show></presence>`)

	// Joining again keeps the id and the nick, and replaces the nodes.
	out := h.deliver(joinIQ(hag66, `<subscribe node='urn:xmpp:mix:nodes:messages'/>`))
	require.Len(t, out, 1, "nothing changed that others see")
	join := out[0].child("join")
	require.Equal(t, id, join.attr("id"))
	require.Equal(t, "third witch", join.child("nick").Text)
	ch, _ := h.svc.Channel(jid.MustParse(coven))
	require.Equal(t, []string{"urn:xmpp:mix:nodes:messages"}, ch.Participants[1].Nodes)

	// A new nick is published, and the participant's presence sent again
	// with it.
	out = h.deliver(joinIQ(hag66, `<nick>second witch</nick>`))
	require.Equal(t, id, out[0].child("join").attr("id"))
	require.Len(t, kinds(out, "message"), 1, "participants notification to hecate")
	pres := kinds(out, "presence")
	require.Len(t, pres, 1)
	require.Equal(t, hecate, pres[0].to.String())
	require.Equal(t, "second witch", pres[0].path("mix", "nick").Text)

	// The id is stable across leaving and joining again (§4.6 allows it),
	// and differs from channel to channel.
	h.deliver(`<iq type='set' id='l' from='` + hag66 + `' to='` + coven + `'><leave xmlns='urn:xmpp:mix:core:1'/></iq>`)
	again, _ := h.join(coven, hag66, "third witch", "")
	require.Equal(t, id, again)
	h.create("spells", hecateRes)
	other, _ := h.join("spells@"+service, hag66, "third witch", "")
	require.NotEqual(t, id, other)

	// Another service with another secret gives other ids.
	rec := hosttest.NewRecorder(nil)
	h2 := &harness{t: t, rec: rec, svc: New(Config{Domain: service, Router: rec, Secret: []byte("another secret")})}
	h2.create("coven", hecateRes)
	elsewhere, _ := h2.join(coven, hag66, "third witch", "")
	require.NotEqual(t, id, elsewhere)
}

func TestLeave(t *testing.T) {
	h := newHarness(t, Limits{})
	h.create("coven", hecateRes)
	h.join(coven, hecate, "top witch", allNodes)
	id, _ := h.join(coven, hag66, "third witch", allNodes)
	h.deliver(`<presence from='` + hag66Res + `' to='` + coven + `'><show>dnd</show></presence>`)
	h.deliver(`<presence from='` + hag66 + `/other' to='` + coven + `'/>`)

	// XEP-0369 §7.1.3 Examples "User's Server sends Leave Request" and
	// "Channel Confirms Leave".
	out := h.deliver(`<iq type='set' from='` + hag66 + `' to='` + coven + `' id='E6E10350-76CF-40C6-B91B-1EA08C332FC7'><leave xmlns='urn:xmpp:mix:core:1'/></iq>`)
	require.Len(t, out, 4)
	out[0].requireResult(t, "E6E10350-76CF-40C6-B91B-1EA08C332FC7")
	require.Equal(t, "urn:xmpp:mix:core:1", out[0].child("leave").XMLName.Space)

	// The others learn of it: a retract on the participants node, and
	// unavailable presence for each of the leaver's clients (XEP-0403
	// §4.4); the leaver is no longer sent anything.
	for _, o := range out[1:] {
		require.Equal(t, hecate, o.to.String())
	}
	require.Equal(t, id, out[1].path("event", "items", "retract").attr("id"))
	for i, res := range []string{"UUID-a1j/7533", "other"} {
		p := out[2+i]
		require.Equal(t, "unavailable", p.attr("type"))
		require.Equal(t, id+"#"+coven+"/"+res, p.attr("from"))
		require.Equal(t, hag66+"/"+res, p.path("mix", "jid").Text)
		require.Equal(t, "third witch", p.path("mix", "nick").Text)
	}
	ch, _ := h.svc.Channel(jid.MustParse(coven))
	require.Len(t, ch.Participants, 1)

	// The nick is free again.
	h.join(coven, peter, "third witch", "")
}

func TestLeaveAnswered(t *testing.T) {
	leave := func(from, channel string) string {
		return `<iq type='set' id='l1' from='` + from + `' to='` + channel + `'><leave xmlns='urn:xmpp:mix:core:1'/></iq>`
	}
	for _, tc := range []struct {
		name string
		iq   string
		cond string
	}{
		{name: "not a participant", iq: leave(peter, coven)},
		{name: "no such channel", iq: leave(hag66, "spells@"+service)},
		{name: "from a client", iq: leave(hag66Res, coven), cond: "not-allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Limits{})
			h.create("coven", hecateRes)
			h.join(coven, hag66, "third witch", allNodes)
			out := h.deliver(tc.iq)
			require.Len(t, out, 1)
			if tc.cond != "" {
				out[0].requireError(t, "iq", "l1", tc.cond)
				return
			}
			out[0].requireResult(t, "l1")
			require.Equal(t, "urn:xmpp:mix:core:1", out[0].child("leave").XMLName.Space)
		})
	}
}

func TestSetNick(t *testing.T) {
	setnick := func(from, nick string) string {
		return `<iq type='set' from='` + from + `' to='` + coven + `' id='7nve413p'><setnick xmlns='urn:xmpp:mix:core:1'><nick>` + nick + `</nick></setnick></iq>`
	}
	h := newHarness(t, Limits{})
	h.create("coven", hecateRes)
	h.join(coven, hecate, "top witch", allNodes)
	id, _ := h.join(coven, hag66, "third witch", "")

	// XEP-0369 §7.1.4 Examples "User sets Nick on Channel" and "Channel
	// informs user of Nick", normalised (RFC 8266).
	out := h.deliver(setnick(hag66Res, "  thirdwitch "))
	require.Len(t, out, 2)
	out[0].requireResult(t, "7nve413p")
	require.Equal(t, hag66Res, out[0].to.String())
	require.Equal(t, "thirdwitch", out[0].path("setnick", "nick").Text)
	require.Equal(t, hecate, out[1].to.String(), "hecate subscribes to participants")
	require.Equal(t, id, out[1].path("event", "items", "item").attr("id"))
	require.Equal(t, "thirdwitch", out[1].path("event", "items", "item", "participant", "nick").Text)

	for _, tc := range []struct {
		name, iq, cond string
	}{
		{name: "taken", iq: setnick(hag66Res, "TOP WITCH"), cond: "conflict"},
		{name: "empty", iq: setnick(hag66Res, ""), cond: "not-acceptable"},
		{name: "no nick", iq: `<iq type='set' from='` + hag66Res + `' to='` + coven + `' id='7nve413p'><setnick xmlns='urn:xmpp:mix:core:1'/></iq>`, cond: "bad-request"},
		{name: "not a participant", iq: setnick(peterRes, "peter"), cond: "forbidden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := h.deliver(tc.iq)
			require.Len(t, out, 1)
			out[0].requireError(t, "iq", "7nve413p", tc.cond)
		})
	}
	ch, _ := h.svc.Channel(jid.MustParse(coven))
	require.Equal(t, "thirdwitch", ch.Participants[1].Nick)
}

func TestUpdateSubscription(t *testing.T) {
	h := newHarness(t, Limits{})
	h.create("coven", hecateRes)
	h.join(coven, hecate, "top witch", allNodes)
	h.deliver(`<presence from='` + hecateRes + `' to='` + coven + `'/>`)
	h.join(coven, hag66, "third witch", `<subscribe node='urn:xmpp:mix:nodes:presence'/>`)

	// XEP-0369 §7.1.2 Example "User Modifies Subscription Request".
	out := h.deliver(`<iq type='set' from='` + hag66Res + `' to='` + coven + `' id='E6E1'>` +
		`<update-subscription xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:messages'/><unsubscribe node='urn:xmpp:mix:nodes:presence'/><subscribe node='nonsense'/></update-subscription></iq>`)
	require.Len(t, out, 1)
	out[0].requireResult(t, "E6E1")
	up := out[0].child("update-subscription")
	require.Equal(t, hag66, up.attr("jid"))
	require.Len(t, up.all("subscribe"), 1)
	require.Equal(t, "urn:xmpp:mix:nodes:messages", up.child("subscribe").attr("node"))
	require.Equal(t, "urn:xmpp:mix:nodes:presence", up.child("unsubscribe").attr("node"))
	ch, _ := h.svc.Channel(jid.MustParse(coven))
	require.Equal(t, []string{"urn:xmpp:mix:nodes:messages"}, ch.Participants[1].Nodes)

	// Subscribing to presence brings the channel's presence.
	out = h.deliver(`<iq type='set' from='` + hag66Res + `' to='` + coven + `' id='E6E2'>` +
		`<update-subscription xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:presence'/></update-subscription></iq>`)
	require.Len(t, out, 2)
	require.Equal(t, hag66, out[1].to.String())
	require.Equal(t, hecateRes, out[1].path("mix", "jid").Text)

	out = h.deliver(`<iq type='set' from='` + peterRes + `' to='` + coven + `' id='E6E3'><update-subscription xmlns='urn:xmpp:mix:core:1'/></iq>`)
	out[0].requireError(t, "iq", "E6E3", "forbidden")
}
