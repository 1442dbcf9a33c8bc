package mixservice

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/host/hosttest"
)

// requireOneAnswer requires exactly one IQ with id among out, a result or
// an error, to from.
func requireOneAnswer(t testing.TB, out []stanzaOut, from, id string) stanzaOut {
	t.Helper()
	var answers []stanzaOut
	for _, s := range out {
		if s.XMLName.Local == "iq" && s.attr("id") == id {
			answers = append(answers, s)
		}
	}
	require.Len(t, answers, 1, "answers to IQ %q: %v", id, answers)
	a := answers[0]
	require.Equal(t, from, a.to.String())
	require.Contains(t, []string{"result", "error"}, a.attr("type"), a.raw)
	return a
}

func TestEveryIQGetsOneAnswer(t *testing.T) {
	destinations := []string{
		service, coven, "spells@" + service, "123#" + coven, "123#" + coven + "/res",
		coven + "/123", service + "/res", "other.example", "bad@@" + service,
	}
	payloads := []string{
		`<query xmlns='http://jabber.org/protocol/disco#info'/>`,
		`<query xmlns='http://jabber.org/protocol/disco#items'/>`,
		`<query xmlns='http://jabber.org/protocol/disco#items' node='mix'/>`,
		`<create xmlns='urn:xmpp:mix:core:1' channel='new'/>`,
		`<create xmlns='urn:xmpp:mix:core:1'/>`,
		`<destroy xmlns='urn:xmpp:mix:core:1' channel='coven'/>`,
		`<join xmlns='urn:xmpp:mix:core:1'>` + allNodes + `<nick>n</nick></join>`,
		`<leave xmlns='urn:xmpp:mix:core:1'/>`,
		`<setnick xmlns='urn:xmpp:mix:core:1'><nick>n</nick></setnick>`,
		`<update-subscription xmlns='urn:xmpp:mix:core:1'><subscribe node='urn:xmpp:mix:nodes:info'/></update-subscription>`,
		`<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:mix:nodes:participants'/></pubsub>`,
		`<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:mix:nodes:info'/></pubsub>`,
		`<query xmlns='urn:xmpp:mam:2'/>`,
		`<vCard xmlns='vcard-temp'/>`,
		`<register xmlns='urn:xmpp:mix:admin:0'/>`,
		``,
		`<a xmlns='x'/><b xmlns='y'/>`,
		`<join xmlns='urn:xmpp:mix:core:1'><nick>n</join>`,
		strings.Repeat(`<subscribe xmlns='urn:xmpp:mix:core:1'/>`, 2),
		`<join xmlns='urn:xmpp:mix:core:1'>` + strings.Repeat(`<subscribe node='x'/>`, maxChildren+1) + `</join>`,
	}
	types := map[string][]string{"get": payloads, "set": payloads, "bogus": payloads[:1], "": payloads[:1]}
	for _, from := range []string{hag66, hag66Res} {
		for _, to := range destinations {
			for typ, payloads := range types {
				for i, payload := range payloads {
					h := newHarness(t, Limits{})
					h.create("coven", hag66Res)
					h.join(coven, hag66, "thirdwitch", allNodes)
					h.join(coven, hecate, "top witch", allNodes)
					id := "q" + string(rune('a'+i))
					typeAttr := ""
					if typ != "" {
						typeAttr = ` type='` + typ + `'`
					}
					iq := `<iq id='` + id + `' from='` + from + `' to='` + to + `'` + typeAttr + `>` + payload + `</iq>`
					a := requireOneAnswer(t, h.deliver(iq), from, id)
					switch {
					case strings.HasPrefix(to, "bad@@"):
						a.requireError(t, "iq", id, "jid-malformed")
					case typ != "get" && typ != "set":
						a.requireError(t, "iq", id, "bad-request")
					}
					if a.attr("type") == "error" {
						a.requireError(t, "iq", id, a.child("error").Children[0].XMLName.Local)
					}
				}
			}
		}
	}
}

func TestUnansweredInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
		err  error
	}{
		{name: "empty", raw: ``, err: ErrNotStanza},
		{name: "text", raw: `hello`, err: ErrNotStanza},
		{name: "other element", raw: `<foo from='a@b' to='` + coven + `'/>`, err: ErrNotStanza},
		{name: "other namespace", raw: `<iq xmlns='urn:x' type='get' id='1' from='a@b' to='` + coven + `'/>`, err: ErrNotStanza},
		{name: "no from", raw: `<iq type='get' id='1' to='` + coven + `'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`, err: ErrNoSender},
		{name: "empty from", raw: `<iq type='get' id='1' from='' to='` + coven + `'/>`, err: ErrNoSender},
		{name: "malformed from", raw: `<iq type='get' id='1' from='a@' to='` + coven + `'/>`, err: ErrNoSender},
		{name: "two froms", raw: `<iq type='get' id='1' from='a@b' from='c@d' to='` + coven + `'/>`, err: ErrNotStanza},
		{name: "two tos", raw: `<iq type='get' id='1' from='a@b' to='` + coven + `' to='` + service + `'/>`, err: ErrNotStanza},
		{name: "from the service's domain", raw: `<iq type='get' id='1' from='x@` + service + `' to='` + coven + `'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`},
		{name: "from the service", raw: `<message type='groupchat' from='` + service + `' to='` + coven + `'/>`},
		{name: "IQ result", raw: `<iq type='result' id='1' from='` + hag66 + `' to='` + coven + `'/>`},
		{name: "IQ error", raw: `<iq type='error' id='1' from='` + hag66 + `' to='` + coven + `'><error type='cancel'/></iq>`},
		{name: "malformed IQ result", raw: `<iq type='result' id='1' from='` + hag66 + `' to='` + coven + `'><x>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Limits{})
			h.create("coven", hag66Res)
			before := len(h.rec.Deliveries())
			err := h.svc.Deliver(context.Background(), []byte(tc.raw))
			require.ErrorIs(t, err, tc.err)
			require.Len(t, h.rec.Deliveries(), before, "nothing sent")
		})
	}
}

func TestMalformedTo(t *testing.T) {
	h := newHarness(t, Limits{})
	out := h.deliver(`<iq type='get' id='1' from='` + hag66Res + `' to='a@b@c'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	require.Len(t, out, 1)
	out[0].requireError(t, "iq", "1", "jid-malformed")
	require.Equal(t, service, out[0].attr("from"), "the service answers for an address it cannot read")

	out = h.deliver(`<iq type='get' id='2' from='` + hag66Res + `'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	out[0].requireResult(t, "2")
	require.Equal(t, service, out[0].attr("from"), "no to: the service")
}

func TestClose(t *testing.T) {
	h := newHarness(t, Limits{})
	h.create("coven", hag66Res)
	require.NoError(t, h.svc.Close())
	before := len(h.rec.Deliveries())
	err := h.svc.Deliver(context.Background(), []byte(discoIQ("x", coven, discoInfo, "")))
	require.ErrorIs(t, err, ErrClosed)
	require.Len(t, h.rec.Deliveries(), before)
}

func TestInvalidConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no router":      {Domain: service},
		"no domain":      {Router: hosttest.NewRecorder(nil)},
		"invalid domain": {Domain: "a b", Router: hosttest.NewRecorder(nil)},
	} {
		t.Run(name, func(t *testing.T) {
			err := New(cfg).Deliver(context.Background(), []byte(discoIQ("x", service, discoInfo, "")))
			require.ErrorIs(t, err, ErrConfig)
		})
	}
}
