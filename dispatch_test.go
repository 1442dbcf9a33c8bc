package mixpam_test

import (
	"context"
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam"
	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/roster"
)

const laptop = "alice@example.org/laptop"

func newTestDispatcher(t *testing.T, capable bool) (*mixpam.Dispatcher, *host.MemSessions, wire) {
	t.Helper()
	sessions := host.NewMemSessions()
	sessions.Add(host.Resource{JID: jid.MustParse(laptop), MIXCapable: capable})
	w := make(wire, 16)
	d, err := newMixpam(sessions, w)
	require.NoError(t, err)
	t.Cleanup(d.Close)
	return d, sessions, w
}

func TestDispatch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stanza string
		err    error  // nil: handled
		answer string // the start of the reply routed, "" for none
	}{{
		name:   "IQ to a full JID is the host's",
		stanza: `<iq type="get" id="i1" from="` + laptop + `" to="bob@example.org/phone"><query xmlns="jabber:iq:roster"/></iq>`,
		err:    host.ErrNotHandled,
	}, {
		name:   "IQ to the domain is the host's",
		stanza: `<iq type="get" id="i1" from="` + laptop + `" to="example.org"><ping xmlns="urn:xmpp:ping"/></iq>`,
		err:    host.ErrNotHandled,
	}, {
		name:   "IQ answer nobody waited for is the host's",
		stanza: `<iq type="result" id="i1" from="coven@mix.example.org" to="alice@example.org"/>`,
		err:    host.ErrNotHandled,
	}, {
		name:   "IQ without from",
		stanza: `<iq type="get" id="i1" to="alice@example.org"><query xmlns="jabber:iq:roster"/></iq>`,
		err:    host.ErrNoSender,
	}, {
		name:   "payload no handler serves",
		stanza: `<iq type="get" id="i1" from="` + laptop + `"><ping xmlns="urn:xmpp:ping"/></iq>`,
		answer: `<iq type="error" id="i1" from="alice@example.org" to="` + laptop + `"><error type="cancel"><service-unavailable`,
	}, {
		name:   "IQ of no valid type",
		stanza: `<iq type="foo" id="i1" from="` + laptop + `"><query xmlns="jabber:iq:roster"/></iq>`,
		answer: `<iq type="error" id="i1" from="alice@example.org" to="` + laptop + `"><error type="modify"><bad-request`,
	}, {
		name:   "IQ of empty type",
		stanza: `<iq id="i1" from="` + laptop + `"><query xmlns="jabber:iq:roster"/></iq>`,
		answer: `<iq type="error" id="i1" from="alice@example.org" to="` + laptop + `"><error type="modify"><bad-request`,
	}, {
		name:   "served payload in the wrong type",
		stanza: `<iq type="set" id="i1" from="` + laptop + `"><blocklist xmlns="urn:xmpp:blocking"/></iq>`,
		answer: `<iq type="error" id="i1" from="alice@example.org" to="` + laptop + `"><error type="modify"><bad-request`,
	}, {
		name:   "roster get",
		stanza: `<iq type="get" id="r1" from="` + laptop + `" to="alice@example.org"><query xmlns="jabber:iq:roster"/></iq>`,
		answer: `<iq type="result" id="r1" from="alice@example.org" to="` + laptop + `">`,
	}, {
		name:   "chat message is the host's",
		stanza: `<message type="chat" from="bob@example.org/phone" to="alice@example.org"><body>hi</body></message>`,
		err:    host.ErrNotHandled,
	}, {
		name:   "subscription presence is the host's",
		stanza: `<presence type="subscribe" from="bob@example.org" to="alice@example.org"/>`,
		err:    host.ErrNotHandled,
	}, {
		name:   "groupchat from a channel not joined is dropped",
		stanza: `<message type="groupchat" from="coven@mix.example.org/1" to="alice@example.org"><body>hi</body></message>`,
	}} {
		// Both entry points: tokens (Dispatch) and bytes (DispatchRaw)
		// route every stanza alike.
		for _, entry := range []struct {
			name string
			call func(d *mixpam.Dispatcher, s string) error
		}{
			{"Dispatch", dispatch},
			{"DispatchRaw", func(d *mixpam.Dispatcher, s string) error { return d.DispatchRaw(context.Background(), []byte(s)) }},
		} {
			t.Run(entry.name+"/"+tc.name, func(t *testing.T) {
				d, _, w := newTestDispatcher(t, true)
				err := entry.call(d, tc.stanza)
				if tc.err == nil {
					require.NoError(t, err)
				} else {
					require.True(t, errors.Is(err, tc.err), "got %v", err)
				}
				if tc.answer == "" {
					require.Empty(t, w, "nothing routed")
					return
				}
				got := <-w
				require.Equal(t, laptop, got.to.String())
				require.Contains(t, got.raw, tc.answer)
			})
		}
	}
}

// DispatchRaw hands a groupchat message from a joined channel to the
// fan-out as bytes: the MIX-capable client gets it, with the user's
// stanza-id (XEP-0405 §2.2, §2.11). Bytes that are no stanza are not
// mixpam's.
func TestDispatchRawGroupchat(t *testing.T) {
	d, _, w := newTestDispatcher(t, true)
	require.NoError(t, dispatch(d, `<iq type="set" id="j1" from="`+laptop+`" to="alice@example.org"><client-join xmlns="urn:xmpp:mix:pam:2" channel="coven@mix.example.org"><join xmlns="urn:xmpp:mix:core:1"><subscribe node="urn:xmpp:mix:nodes:messages"/></join></client-join></iq>`))
	req := <-w
	require.NoError(t, dispatch(d, `<iq type="result" id="`+attr(req.raw, "id")+`" from="coven@mix.example.org" to="alice@example.org"><join xmlns="urn:xmpp:mix:core:1" id="123456"><subscribe node="urn:xmpp:mix:nodes:messages"/></join></iq>`))
	for got := <-w; !strings.Contains(got.raw, `id="j1"`); got = <-w {
		// the roster push comes before the join's answer
	}
	require.NoError(t, d.DispatchRaw(context.Background(), []byte(`<message type="groupchat" from="coven@mix.example.org/123456" to="alice@example.org" id="m1"><body>hi</body></message>`)))
	got := <-w
	require.Equal(t, laptop, got.to.String())
	require.Contains(t, got.raw, `<body>hi</body>`)
	require.Contains(t, got.raw, `<stanza-id xmlns="urn:xmpp:sid:0"`)

	for _, raw := range []string{"", "not xml", "<", `<message type="groupchat"`} {
		require.ErrorIs(t, d.DispatchRaw(context.Background(), []byte(raw)), host.ErrNotHandled, "%q", raw)
	}
}

func TestNewDispatcherRoutes(t *testing.T) {
	w := make(wire, 1)
	rosterH, err := roster.NewHandler(roster.HandlerConfig{Store: roster.NewMemStore(), Sessions: host.NewMemSessions(), Router: w})
	require.NoError(t, err)
	x := xml.Name{Space: "urn:example:x", Local: "x"}
	get, set := host.IQRoute{Type: stanza.GetIQ, Name: x}, host.IQRoute{Type: stanza.SetIQ, Name: x}
	f := host.IQHandlerFunc(func(context.Context, stanza.IQ, xml.TokenReader, host.ReplyFunc) error { return host.ErrNotHandled })
	for _, tc := range []struct {
		name string
		iq   []mixpam.IQ
		err  string // "" for none
	}{
		{"two handlers for one payload", []mixpam.IQ{{Handler: rosterH, Routes: roster.IQRoutes()}, {Handler: f, Routes: roster.IQRoutes()}}, "two handlers for IQ get {jabber:iq:roster}query"},
		// Func handlers are not comparable: no panic.
		{"func handler for two types", []mixpam.IQ{{Handler: f, Routes: []host.IQRoute{get, set}}}, ""},
		{"one handler per type", []mixpam.IQ{{Handler: f, Routes: []host.IQRoute{get}}, {Handler: f, Routes: []host.IQRoute{set}}}, ""},
		{"same func twice for one route", []mixpam.IQ{{Handler: f, Routes: []host.IQRoute{get}}, {Handler: f, Routes: []host.IQRoute{get}}}, "two handlers for IQ get {urn:example:x}x"},
		{"route for answers", []mixpam.IQ{{Handler: f, Routes: []host.IQRoute{{Type: stanza.ResultIQ, Name: x}}}}, "requests are of type get or set"},
		{"no handler", []mixpam.IQ{{Routes: []host.IQRoute{get}}}, "Config.IQ[0] has no Handler"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mixpam.NewDispatcher(mixpam.Config{Router: w, IQ: tc.iq})
			if tc.err == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.err)
			}
		})
	}
	_, err = mixpam.NewDispatcher(mixpam.Config{})
	require.Error(t, err)
}

// A client's first presence without caps makes the dispatcher ask the
// client for its disco#info (XEP-0405 §2.1); its answer, dispatched as any
// IQ answer, sets the session's MIX capability.
func TestDispatchResolvesCaps(t *testing.T) {
	d, sessions, w := newTestDispatcher(t, false)
	require.NoError(t, dispatch(d, `<presence from="`+laptop+`"/>`))
	query := <-w
	require.Equal(t, laptop, query.to.String())
	require.Contains(t, query.raw, `<query xmlns="http://jabber.org/protocol/disco#info"`)
	require.NoError(t, dispatch(d, `<iq type="result" id="`+attr(query.raw, "id")+`" from="`+laptop+`" to="`+attr(query.raw, "from")+`">`+
		`<query xmlns="http://jabber.org/protocol/disco#info"><identity category="client" type="pc"/>`+
		`<feature var="http://jabber.org/protocol/disco#info"/><feature var="urn:xmpp:mix:core:1"/></query></iq>`))
	d.Close() // the resolution has ended
	r, ok := sessions.Resource(jid.MustParse(laptop))
	require.True(t, ok)
	require.True(t, r.MIXCapable)
}

// A joined client whose first presence has no children (<presence/>) and
// whose MIX capability is learnt from its disco#info answer comes online
// in its channels: its presence goes to the channel once the capability
// is known (XEP-0405 §2.1, §2.9.1).
func TestDispatchChildlessPresenceAfterCaps(t *testing.T) {
	d, _, w := newTestDispatcher(t, false)
	require.NoError(t, dispatch(d, `<iq type="set" id="j1" from="`+laptop+`"><client-join xmlns="urn:xmpp:mix:pam:2" channel="coven@mix.example.org">`+
		`<join xmlns="urn:xmpp:mix:core:1"><subscribe node="urn:xmpp:mix:nodes:messages"/></join></client-join></iq>`))
	join := next(w)
	require.NoError(t, dispatch(d, `<iq type="result" id="`+attr(join.raw, "id")+`" from="coven@mix.example.org" to="alice@example.org">`+
		`<join xmlns="urn:xmpp:mix:core:1" jid="123456#coven@mix.example.org"><subscribe node="urn:xmpp:mix:nodes:messages"/></join></iq>`))
	for answer := next(w); attr(answer.raw, "id") != "j1"; answer = next(w) {
		require.NotEqual(t, "<none/>", answer.raw, "no answer to the join")
	}

	require.NoError(t, dispatch(d, `<presence from="`+laptop+`"/>`))
	query := next(w)
	require.Contains(t, query.raw, `<query xmlns="http://jabber.org/protocol/disco#info"`)
	require.NoError(t, dispatch(d, `<iq type="result" id="`+attr(query.raw, "id")+`" from="`+laptop+`" to="`+attr(query.raw, "from")+`">`+
		`<query xmlns="http://jabber.org/protocol/disco#info"><identity category="client" type="pc"/>`+
		`<feature var="http://jabber.org/protocol/disco#info"/><feature var="urn:xmpp:mix:core:1"/></query></iq>`))
	for got := next(w); ; got = next(w) {
		require.NotEqual(t, "<none/>", got.raw, "the client's presence did not reach the channel")
		if strings.HasPrefix(got.raw, "<presence") && got.to.String() == "coven@mix.example.org" && attr(got.raw, "from") == laptop {
			break
		}
	}
}

// New refuses a HostConfig without one of its required parts, naming it.
func TestNewRefusesIncompleteHostConfig(t *testing.T) {
	full := mixpam.HostConfig{
		Sessions: host.NewMemSessions(), Router: make(wire, 1),
		Rosters: roster.NewMemStore(), Archive: archive.NewMemStore(), Blocks: blocking.NewMemStore(),
	}
	for _, tc := range []struct {
		want   string
		change func(*mixpam.HostConfig)
	}{
		{"HostConfig.Sessions is required", func(c *mixpam.HostConfig) { c.Sessions = nil }},
		{"HostConfig.Router is required", func(c *mixpam.HostConfig) { c.Router = nil }},
		{"HostConfig.Rosters is required", func(c *mixpam.HostConfig) { c.Rosters = nil }},
		{"HostConfig.Archive is required", func(c *mixpam.HostConfig) { c.Archive = nil }},
		{"HostConfig.Blocks is required", func(c *mixpam.HostConfig) { c.Blocks = nil }},
	} {
		t.Run(tc.want, func(t *testing.T) {
			c := full
			tc.change(&c)
			d, err := mixpam.New(c)
			require.ErrorContains(t, err, tc.want)
			require.Nil(t, d)
		})
	}
	d, err := mixpam.New(full)
	require.NoError(t, err)
	require.Contains(t, d.Features(), "urn:xmpp:blocking", "every handler's features")
	d.Close()
}
