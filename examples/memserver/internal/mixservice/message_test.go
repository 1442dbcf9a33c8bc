package mixservice

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// harpier is XEP-0369 §7.1.6 Example "User Sends Message to Channel".
const harpier = `<message from='` + hag66Res + `' to='` + coven + `' id='92vax143g' type='groupchat'><body>Harpier cries: 'tis time, 'tis time.</body></message>`

// coven3 returns a harness with coven and three participants: hecate and
// hag66 subscribed to every node, peter to none.
func coven3(t *testing.T) (h *harness, hag66ID string) {
	t.Helper()
	h = newHarness(t, Limits{})
	h.create("coven", hecateRes)
	h.join(coven, hecate, "top witch", allNodes)
	hag66ID, _ = h.join(coven, hag66, "thirdwitch", allNodes)
	h.join(coven, peter, "peter", "")
	return h, hag66ID
}

func TestMessageReflected(t *testing.T) {
	h, id := coven3(t)
	out := h.deliver(harpier)

	// XEP-0369 §7.1.6 Example "Channel Reflects Message to Participants",
	// to every subscriber of the messages node, the sender included.
	require.ElementsMatch(t, []string{hecate, hag66}, recipients(out))
	stanzaID := out[0].attr("id")
	require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, stanzaID)
	for _, m := range out {
		require.Equal(t, "message", m.XMLName.Local)
		require.Equal(t, coven+"/"+id, m.attr("from"))
		require.Equal(t, "groupchat", m.attr("type"))
		require.Equal(t, stanzaID, m.attr("id"), "one id for every copy, not the sender's")
		require.Equal(t, "Harpier cries: 'tis time, 'tis time.", m.child("body").Text)
		sid := m.child("stanza-id")
		require.Equal(t, "urn:xmpp:sid:0", sid.XMLName.Space)
		require.Equal(t, stanzaID, sid.attr("id"))
		require.Equal(t, coven, sid.attr("by"))
		mix := m.child("mix")
		require.Equal(t, "urn:xmpp:mix:core:1", mix.XMLName.Space)
		require.Equal(t, "thirdwitch", mix.child("nick").Text)
		require.Equal(t, hag66, mix.child("jid").Text, "JID-visible channel: the sender's real bare JID")
	}

	// Every message gets its own id.
	again := h.deliver(harpier)
	require.NotEqual(t, stanzaID, again[0].attr("id"))
}

func TestMessageContent(t *testing.T) {
	h, _ := coven3(t)
	out := h.deliver(`<message from='` + hag66Res + `' to='` + coven + `' id='m1' type='groupchat' xml:lang='en'>` +
		`<body>hi</body>` +
		`<mix xmlns='urn:xmpp:mix:core:1'><nick>hecate</nick><jid>` + hecate + `</jid></mix>` +
		`<stanza-id xmlns='urn:xmpp:sid:0' by='COVEN@mix.shakespeare.example' id='forged'/>` +
		`<stanza-id xmlns='urn:xmpp:sid:0' by='` + hag66 + `' id='kept'/>` +
		`<origin-id xmlns='urn:xmpp:sid:0' id='origin'/>` +
		`<x xmlns='urn:example'><y a='1'>t</y></x>` +
		`</message>`)
	require.Len(t, out, 2)
	m := out[0]
	require.Contains(t, m.raw, ` xml:lang="en"`)
	require.Len(t, m.all("mix"), 1, "the sender's <mix/> is dropped")
	require.Equal(t, "thirdwitch", m.path("mix", "nick").Text)
	ids := m.all("stanza-id")
	require.Len(t, ids, 2, "the forged stanza-id by the channel is dropped (XEP-0359 §3)")
	require.Equal(t, "kept", ids[0].attr("id"))
	require.Equal(t, coven, ids[1].attr("by"))
	require.Equal(t, "origin", m.child("origin-id").attr("id"))
	require.Equal(t, "t", m.path("x", "y").Text)
	require.Equal(t, "urn:example", m.child("x").XMLName.Space)
}

func TestMessageRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  string
		cond string
	}{
		{name: "not a participant", msg: `<message from='bob@example.org/x' to='` + coven + `' id='m1' type='groupchat'><body>x</body></message>`, cond: "forbidden"},
		{name: "not groupchat", msg: `<message from='` + hag66Res + `' to='` + coven + `' id='m1' type='chat'><body>x</body></message>`, cond: "bad-request"},
		{name: "no type", msg: `<message from='` + hag66Res + `' to='` + coven + `' id='m1'><body>x</body></message>`, cond: "bad-request"},
		{name: "no such channel", msg: `<message from='` + hag66Res + `' to='spells@` + service + `' id='m1' type='groupchat'><body>x</body></message>`, cond: "item-not-found"},
		{name: "to the service", msg: `<message from='` + hag66Res + `' to='` + service + `' id='m1' type='groupchat'><body>x</body></message>`, cond: "service-unavailable"},
		{name: "private message", msg: `<message from='` + hag66Res + `' to='123#` + coven + `' id='m1' type='chat'><body>x</body></message>`, cond: "service-unavailable"},
		{name: "to a participant's resource", msg: `<message from='` + hag66Res + `' to='` + coven + `/123' id='m1' type='groupchat'><body>x</body></message>`, cond: "service-unavailable"},
		{name: "unclosed", msg: `<message from='` + hag66Res + `' to='` + coven + `' id='m1' type='groupchat'><body>x</body>`, cond: "bad-request"},
		{name: "mismatched", msg: `<message from='` + hag66Res + `' to='` + coven + `' id='m1' type='groupchat'><body>x</bod></message>`, cond: "bad-request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := coven3(t)
			out := h.deliver(tc.msg)
			require.Len(t, out, 1, "an error to the sender only")
			out[0].requireError(t, "message", "m1", tc.cond)
		})
	}
}

func TestMessageNotAnswered(t *testing.T) {
	h, _ := coven3(t)
	for _, msg := range []string{
		`<message from='` + hag66Res + `' to='` + coven + `' id='e1' type='error'><error type='cancel'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`,
		`<message from='` + hag66Res + `' to='123#` + coven + `' type='error'/>`,
	} {
		require.Empty(t, h.deliver(msg), msg)
	}
}
