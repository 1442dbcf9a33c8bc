package mixservice

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
)

func createIQ(from, attrs string) string {
	return `<iq type='set' id='lx09df27' from='` + from + `' to='` + service + `'><create xmlns='urn:xmpp:mix:core:1'` + attrs + `/></iq>`
}

func TestCreate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing []string // channels hag66 creates first
		limits   Limits
		attrs    string
		cond     string // expected error condition; "" for a result
		text     string // part of the error text
	}{
		{name: "XEP-0369 example", attrs: ` channel='coven'`},
		{name: "exists", existing: []string{"coven"}, attrs: ` channel='coven'`, cond: "conflict"},
		{name: "not canonical", attrs: ` channel='Coven'`, cond: "not-acceptable", text: "ask for coven"},
		{name: "hash", attrs: ` channel='123#coven'`, cond: "not-acceptable", text: "'#'"},
		{name: "empty", attrs: ` channel=''`, cond: "not-acceptable", text: "ad hoc"},
		{name: "not a localpart", attrs: ` channel='a b'`, cond: "not-acceptable"},
		{name: "too long", attrs: ` channel='` + strings.Repeat("a", 65) + `'`, cond: "not-acceptable", text: "64 bytes"},
		{name: "owner limit", limits: Limits{ChannelsPerOwner: 1}, existing: []string{"one"}, attrs: ` channel='coven'`, cond: "policy-violation"},
		{name: "service limit", limits: Limits{Channels: 1}, existing: []string{"one"}, attrs: ` channel='coven'`, cond: "resource-constraint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.limits)
			for _, name := range tc.existing {
				h.create(name, hag66Res)
			}
			out := h.deliver(createIQ(hag66Res, tc.attrs))
			require.Len(t, out, 1)
			require.Equal(t, hag66Res, out[0].to.String())
			require.Equal(t, service, out[0].attr("from"))
			if tc.cond != "" {
				out[0].requireError(t, "iq", "lx09df27", tc.cond)
				require.Contains(t, out[0].raw, tc.text)
				require.Len(t, h.svc.Channels(), len(tc.existing), "nothing created")
				return
			}
			out[0].requireResult(t, "lx09df27")
			require.Equal(t, `<create xmlns="urn:xmpp:mix:core:1" channel="coven"/>`, strings.TrimSuffix(strings.SplitN(out[0].raw, ">", 2)[1], "</iq>"))
			ch, ok := h.svc.Channel(jid.MustParse(coven))
			require.True(t, ok)
			require.Equal(t, hag66, ch.Owner.String(), "the creator's bare JID owns the channel")
			require.False(t, ch.AdHoc)
		})
	}
}

func TestCreateAdHoc(t *testing.T) {
	h := newHarness(t, Limits{})
	out := h.deliver(createIQ(hag66Res, ""))
	require.Len(t, out, 1)
	out[0].requireResult(t, "lx09df27")
	name := out[0].child("create").attr("channel")
	require.Len(t, name, 16)
	ch, ok := h.svc.Channel(jid.MustParse(name + "@" + service))
	require.True(t, ok, "the named channel exists")
	require.True(t, ch.AdHoc)

	other := h.deliver(createIQ(hag66Res, ""))
	require.NotEqual(t, name, other[0].child("create").attr("channel"), "names are random")
}

func TestDestroy(t *testing.T) {
	destroy := func(from, attrs string) string {
		return `<iq type='set' id='d1' from='` + from + `' to='` + service + `'><destroy xmlns='urn:xmpp:mix:core:1'` + attrs + `/></iq>`
	}
	for _, tc := range []struct {
		name string
		iq   string
		cond string
	}{
		{name: "owner", iq: destroy(hag66Res, ` channel='coven'`)},
		{name: "owner from another client", iq: destroy(hag66+"/other", ` channel='coven'`)},
		{name: "owner's server", iq: destroy(hag66, ` channel='coven'`)},
		{name: "not the owner", iq: destroy(hecateRes, ` channel='coven'`), cond: "forbidden"},
		{name: "no such channel", iq: destroy(hag66Res, ` channel='spells'`), cond: "item-not-found"},
		{name: "no channel attribute", iq: destroy(hag66Res, ``), cond: "bad-request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Limits{ChannelsPerOwner: 1})
			h.create("coven", hag66Res)
			h.join(coven, hecate, "top witch", allNodes)
			out := h.deliver(tc.iq)
			require.Len(t, out, 1, "an answer and no notification")
			if tc.cond != "" {
				out[0].requireError(t, "iq", "d1", tc.cond)
				require.Len(t, h.svc.Channels(), 1)
				return
			}
			out[0].requireResult(t, "d1")
			require.Empty(t, out[0].Children, "XEP-0369 §7.3.4: an empty result")
			require.Empty(t, h.svc.Channels())

			// The channel is gone, and its owner may create another one.
			out = h.deliver(`<iq type='set' id='j' from='` + hecate + `' to='` + coven + `'><join xmlns='urn:xmpp:mix:core:1'><nick>x</nick></join></iq>`)
			out[0].requireError(t, "iq", "j", "item-not-found")
			h.create("spells", hag66Res)
		})
	}
}
