package mixservice

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func discoIQ(id, to, ns, attrs string) string {
	return `<iq from='` + hag66Res + `' id='` + id + `' to='` + to + `' type='get'><query xmlns='` + ns + `'` + attrs + `/></iq>`
}

const (
	discoInfo  = "http://jabber.org/protocol/disco#info"
	discoItems = "http://jabber.org/protocol/disco#items"
)

func features(q elem) []string {
	var out []string
	for _, f := range q.all("feature") {
		out = append(out, f.attr("var"))
	}
	return out
}

func TestDisco(t *testing.T) {
	h := newHarness(t, Limits{})
	h.create("coven", hecateRes)
	h.create("spells", hecateRes)
	h.deliver(createIQ(hecateRes, "")) // ad hoc: not listed
	h.join(coven, hag66, "thirdwitch", "")

	// XEP-0369 §6.1 "Service responds with Disco Info result", with
	// #create-channel (§7.3.1).
	out := h.deliver(discoIQ("lx09df27", service, discoInfo, ""))
	require.Len(t, out, 1)
	out[0].requireResult(t, "lx09df27")
	q := out[0].child("query")
	require.Equal(t, "conference", q.child("identity").attr("category"))
	require.Equal(t, "mix", q.child("identity").attr("type"))
	require.Equal(t, []string{discoInfo, discoItems, "urn:xmpp:mix:core:1", "urn:xmpp:mix:core:1#create-channel"}, features(q))

	// §6.2 "MIX Service Returns Disco Items Result".
	out = h.deliver(discoIQ("kl2fax27", service, discoItems, ""))
	out[0].requireResult(t, "kl2fax27")
	var items []string
	for _, it := range out[0].child("query").all("item") {
		items = append(items, it.attr("jid"))
	}
	require.Equal(t, []string{coven, "spells@" + service}, items)

	// §6.3 "Channel Returns Disco Info Result".
	out = h.deliver(discoIQ("ik3vs715", coven, discoInfo, ""))
	out[0].requireResult(t, "ik3vs715")
	require.Equal(t, coven, out[0].attr("from"))
	q = out[0].child("query")
	require.Equal(t, "mix", q.child("identity").attr("type"))
	require.Equal(t, "coven", q.child("identity").attr("name"))
	require.Equal(t, []string{discoInfo, discoItems, "urn:xmpp:mix:core:1", "urn:xmpp:sid:0"}, features(q))

	// §6.4 "Channel Returns Disco Items Result".
	out = h.deliver(discoIQ("kl2fax28", coven, discoItems, ` node='mix'`))
	out[0].requireResult(t, "kl2fax28")
	q = out[0].child("query")
	require.Equal(t, "mix", q.attr("node"))
	var nodes []string
	for _, it := range q.all("item") {
		require.Equal(t, coven, it.attr("jid"))
		nodes = append(nodes, it.attr("node"))
	}
	require.ElementsMatch(t, []string{"urn:xmpp:mix:nodes:messages", "urn:xmpp:mix:nodes:presence", "urn:xmpp:mix:nodes:participants", "urn:xmpp:mix:nodes:info"}, nodes)

	// §6.5 "MIX Service Returns Channel Information", to anyone.
	out = h.deliver(`<iq from='` + peterRes + `' id='i1' to='` + coven + `' type='get'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:mix:nodes:info'/></pubsub></iq>`)
	out[0].requireResult(t, "i1")
	x := out[0].path("pubsub", "items", "item", "x")
	require.Equal(t, "jabber:x:data", x.XMLName.Space)
	require.Equal(t, "result", x.attr("type"))
	require.NotEmpty(t, out[0].path("pubsub", "items", "item").attr("id"))
	fields := map[string]string{}
	for _, f := range x.all("field") {
		fields[f.attr("var")] = f.child("value").Text
	}
	require.Equal(t, map[string]string{"FORM_TYPE": "urn:xmpp:mix:core:1", "Name": "coven"}, fields)

	// §6.6 "MIX Service Returns Participant List", to participants only.
	out = h.deliver(`<iq from='` + hag66Res + `' id='p1' to='` + coven + `' type='get'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:mix:nodes:participants'/></pubsub></iq>`)
	out[0].requireResult(t, "p1")
	parts := out[0].path("pubsub", "items").all("item")
	require.Len(t, parts, 1)
	require.Equal(t, "thirdwitch", parts[0].path("participant", "nick").Text)
	require.Equal(t, hag66, parts[0].path("participant", "jid").Text)
}

func TestDiscoRefused(t *testing.T) {
	pubsub := func(node string) string {
		return `<iq from='` + peterRes + `' id='x' to='` + coven + `' type='get'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='` + node + `'/></pubsub></iq>`
	}
	for _, tc := range []struct {
		name, iq, cond string
	}{
		{name: "channel items without node='mix'", iq: discoIQ("x", coven, discoItems, ""), cond: "bad-request"},
		{name: "channel items of another node", iq: discoIQ("x", coven, discoItems, ` node='other'`), cond: "item-not-found"},
		{name: "channel info of a node", iq: discoIQ("x", coven, discoInfo, ` node='mix'`), cond: "item-not-found"},
		{name: "service info of a node", iq: discoIQ("x", service, discoInfo, ` node='x'`), cond: "item-not-found"},
		{name: "service items of a node", iq: discoIQ("x", service, discoItems, ` node='x'`), cond: "item-not-found"},
		{name: "no such channel", iq: discoIQ("x", "spells@"+service, discoInfo, ""), cond: "item-not-found"},
		{name: "participants for a non-participant", iq: pubsub("urn:xmpp:mix:nodes:participants"), cond: "forbidden"},
		{name: "presence node", iq: pubsub("urn:xmpp:mix:nodes:presence"), cond: "not-allowed"},
		{name: "unknown node", iq: pubsub("urn:xmpp:mix:nodes:config"), cond: "item-not-found"},
		{name: "pubsub subscribe", iq: `<iq from='` + peterRes + `' id='x' to='` + coven + `' type='get'><pubsub xmlns='http://jabber.org/protocol/pubsub'><subscriptions/></pubsub></iq>`, cond: "feature-not-implemented"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Limits{})
			h.create("coven", hecateRes)
			out := h.deliver(tc.iq)
			require.Len(t, out, 1)
			out[0].requireError(t, "iq", "x", tc.cond)
		})
	}
}

func TestMessagesNodeHasNoItems(t *testing.T) {
	h := newHarness(t, Limits{})
	h.create("coven", hecateRes)
	out := h.deliver(`<iq from='` + peterRes + `' id='x' to='` + coven + `' type='get'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:mix:nodes:messages'/></pubsub></iq>`)
	out[0].requireResult(t, "x")
	require.Equal(t, "urn:xmpp:mix:nodes:messages", out[0].path("pubsub", "items").attr("node"))
	require.Empty(t, out[0].path("pubsub", "items").Children)
}
