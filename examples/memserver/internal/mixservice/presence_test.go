package mixservice

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
)

// brew is XEP-0405 Listing 13 (XEP-0403 §4.1 "Server sends Presence Status
// to MIX Channel").
const brew = `<presence from='` + hag66Res + `' to='` + coven + `'><show>dnd</show><status>Making a Brew</status></presence>`

func TestPresenceRelayed(t *testing.T) {
	h, id := coven3(t)
	out := h.deliver(brew)

	// XEP-0403 §4.1 "Channel Distributes Presence" (XEP-0405 Listing 14),
	// to the presence node's subscribers, the sender included.
	require.ElementsMatch(t, []string{hecate, hag66}, recipients(out))
	for _, p := range out {
		require.Equal(t, "presence", p.XMLName.Local)
		require.Empty(t, p.attr("type"))
		require.Equal(t, id+"#"+coven+"/UUID-a1j/7533", p.attr("from"))
		require.NotEmpty(t, p.attr("id"))
		mix := p.child("mix")
		require.Equal(t, "urn:xmpp:mix:presence:0", mix.XMLName.Space)
		require.Equal(t, hag66Res, mix.child("jid").Text, "the client's full JID")
		require.Equal(t, "thirdwitch", mix.child("nick").Text)
		require.Equal(t, "dnd", p.child("show").Text)
		require.Equal(t, "Making a Brew", p.child("status").Text)
	}
	ch, _ := h.svc.Channel(jid.MustParse(coven))
	require.Equal(t, []jid.JID{jid.MustParse(hag66Res)}, ch.Participants[1].Clients)

	// A forged <mix/> is dropped; the update replaces the stored presence.
	out = h.deliver(`<presence from='` + hag66Res + `' to='` + coven + `'><mix xmlns='urn:xmpp:mix:presence:0'><jid>` + hecateRes + `</jid></mix><show>away</show></presence>`)
	require.Len(t, out, 2)
	require.Len(t, out[0].all("mix"), 1)
	require.Equal(t, hag66Res, out[0].path("mix", "jid").Text)
	ch, _ = h.svc.Channel(jid.MustParse(coven))
	require.Len(t, ch.Participants[1].Clients, 1)

	// XEP-0403 §4.3 "Channel Distributes Notification of Client going
	// Offline", and the client is gone from the presence node.
	out = h.deliver(`<presence type='unavailable' from='` + hag66Res + `' to='` + coven + `'/>`)
	require.ElementsMatch(t, []string{hecate, hag66}, recipients(out))
	require.Equal(t, "unavailable", out[0].attr("type"))
	require.Equal(t, id+"#"+coven+"/UUID-a1j/7533", out[0].attr("from"))
	require.Equal(t, hag66Res, out[0].path("mix", "jid").Text)
	ch, _ = h.svc.Channel(jid.MustParse(coven))
	require.Empty(t, ch.Participants[1].Clients)

	// Unavailable presence too large to relay still removes the client.
	h.deliver(brew)
	out = h.deliver(`<presence type='unavailable' from='` + hag66Res + `' to='` + coven + `'><status>` + strings.Repeat("x", DefaultLimits().PresenceBytes) + `</status></presence>`)
	require.Len(t, out, 2)
	require.Empty(t, out[0].child("status").Text)
	ch, _ = h.svc.Channel(jid.MustParse(coven))
	require.Empty(t, ch.Participants[1].Clients)

	// Unavailable presence of a client the channel does not know is
	// nothing to tell.
	require.Empty(t, h.deliver(`<presence type='unavailable' from='`+hag66Res+`' to='`+coven+`'/>`))
}

func TestPresenceFullUpdate(t *testing.T) {
	h, id := coven3(t)
	h.deliver(brew)
	h.deliver(`<presence from='` + hecateRes + `' to='` + coven + `'/>`)
	want := []string{hecateRes, hag66Res} // in join order

	for _, tc := range []struct {
		name, presence string
		to             string
		want           []string
	}{
		// XEP-0405 §2.9.3: directed presence from the bare JID.
		{name: "directed presence", presence: `<presence from='` + hag66 + `' to='` + coven + `'/>`, to: hag66, want: want},
		// RFC 6121 §4.3: a probe asks for the same.
		{name: "probe from the bare JID", presence: `<presence type='probe' from='` + hecate + `' to='` + coven + `'/>`, to: hecate, want: want},
		{name: "probe from a client", presence: `<presence type='probe' from='` + hecateRes + `' to='` + coven + `'/>`, to: hecate, want: want},
		// peter does not subscribe to presence.
		{name: "not subscribed", presence: `<presence from='` + peter + `' to='` + coven + `'/>`},
		{name: "unavailable from the bare JID", presence: `<presence type='unavailable' from='` + hag66 + `' to='` + coven + `'/>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := h.deliver(tc.presence)
			require.Len(t, out, len(tc.want))
			var got []string
			for _, p := range out {
				require.Equal(t, tc.to, p.to.String())
				require.Empty(t, p.attr("type"))
				got = append(got, p.path("mix", "jid").Text)
			}
			if len(out) > 0 {
				// In join order: hecate, then hag66.
				require.Equal(t, want, got)
				require.Equal(t, "dnd", out[1].child("show").Text, "the stored presence, content included")
				require.Equal(t, id+"#"+coven+"/UUID-a1j/7533", out[1].attr("from"))
			}
		})
	}
	ch, _ := h.svc.Channel(jid.MustParse(coven))
	require.Len(t, ch.Participants[1].Clients, 1, "refreshes change nothing")
}

func TestPresenceOnJoin(t *testing.T) {
	h, _ := coven3(t)
	h.deliver(brew)
	// Joining with a presence subscription brings the channel's presence
	// after the result (XEP-0405 §2.9.3).
	out := h.deliver(joinIQ("witch@shakespeare.example", `<subscribe node='urn:xmpp:mix:nodes:presence'/><nick>w</nick>`))
	require.Len(t, out, 4, "result, 2 participants notifications, presence")
	out[0].requireResult(t, "E6E10350-76CF-40C6-B91B-1EA08C332FC7")
	require.Equal(t, "presence", out[3].XMLName.Local)
	require.Equal(t, "witch@shakespeare.example", out[3].to.String())
	require.Equal(t, hag66Res, out[3].path("mix", "jid").Text)
}

func TestPresenceRefused(t *testing.T) {
	for _, tc := range []struct {
		name     string
		limits   Limits
		presence string
		cond     string // "" when nothing is sent
	}{
		{name: "not a participant", presence: `<presence from='bob@example.org/x' to='` + coven + `'/>`, cond: "forbidden"},
		{name: "probe from a non-participant", presence: `<presence type='probe' from='bob@example.org' to='` + coven + `'/>`, cond: "forbidden"},
		{name: "no such channel", presence: `<presence from='` + hag66Res + `' to='spells@` + service + `'/>`, cond: "item-not-found"},
		{name: "unknown type", presence: `<presence type='bogus' from='` + hag66Res + `' to='` + coven + `'/>`, cond: "bad-request"},
		{name: "too many clients", limits: Limits{Resources: 1}, presence: `<presence from='` + hag66 + `/second' to='` + coven + `'/>`, cond: "resource-constraint"},
		{name: "too large", limits: Limits{PresenceBytes: 100}, presence: `<presence from='` + hag66 + `/second' to='` + coven + `'><status>` + strings.Repeat("x", 100) + `</status></presence>`, cond: "policy-violation"},
		{name: "malformed", presence: `<presence from='` + hag66Res + `' to='` + coven + `'><status>x</presence>`, cond: "bad-request"},
		{name: "unavailable from a non-participant", presence: `<presence type='unavailable' from='bob@example.org/x' to='` + coven + `'/>`},
		{name: "unavailable to no channel", presence: `<presence type='unavailable' from='` + hag66Res + `' to='spells@` + service + `'/>`},
		{name: "malformed unavailable", presence: `<presence type='unavailable' from='` + hag66Res + `' to='` + coven + `'><x>`},
		{name: "subscription request", presence: `<presence type='subscribe' from='` + hag66 + `' to='` + coven + `'/>`},
		{name: "to the service", presence: `<presence from='` + hag66Res + `' to='` + service + `'/>`},
		{name: "error", presence: `<presence type='error' from='` + hag66Res + `' to='` + coven + `'/>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.limits)
			h.create("coven", hecateRes)
			h.join(coven, hag66, "thirdwitch", allNodes)
			h.deliver(brew)
			before := h.svc.Channels()
			out := h.deliver(strings.Replace(tc.presence, "<presence ", "<presence id='p1' ", 1))
			require.Equal(t, before, h.svc.Channels(), "nothing changed")
			if tc.cond == "" {
				require.Empty(t, out)
				return
			}
			require.Len(t, out, 1)
			out[0].requireError(t, "presence", "p1", tc.cond)
		})
	}
}

func TestNickChangeResendsPresence(t *testing.T) {
	h, _ := coven3(t)
	h.deliver(brew)
	out := h.deliver(`<iq type='set' from='` + hag66Res + `' to='` + coven + `' id='n'><setnick xmlns='urn:xmpp:mix:core:1'><nick>second witch</nick></setnick></iq>`)
	pres := kinds(out, "presence")
	require.ElementsMatch(t, []string{hecate, hag66}, recipients(pres))
	for _, p := range pres {
		require.Equal(t, "second witch", p.path("mix", "nick").Text)
		require.Equal(t, "dnd", p.child("show").Text)
	}
}
