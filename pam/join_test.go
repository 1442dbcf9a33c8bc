package pam

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/roster"
)

// The XEP-0405 Listing 4 <join/>.
const testJoin = `<join xmlns='urn:xmpp:mix:core:1'>
      <subscribe node='urn:xmpp:mix:nodes:messages' />
      <subscribe node='urn:xmpp:mix:nodes:presence' />
      <subscribe node='urn:xmpp:mix:nodes:participants' />
      <subscribe node='urn:xmpp:mix:nodes:info' />
    </join>`

const testClientJoin = `<client-join xmlns='urn:xmpp:mix:pam:2' channel='coven@mix.shakespeare.example'>` +
	testJoin + `</client-join>`

// Issue point 1: only the user's own full JID, to its bare JID or to no one.
func TestJoinAddressing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		to     string
		accept bool
	}{
		{name: "to the bare JID", to: testUser.String(), accept: true},
		{name: "without to", to: "", accept: true},
		{name: "to another user", to: testOther.String()},
		{name: "to another user's resource", to: testOther.String() + "/balcony"},
		{name: "to the user's own other resource", to: testClientB.String()},
		{name: "to the server", to: "shakespeare.example"},
		{name: "to the channel", to: testChannel.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newJoinEnv(t, JoinConfig{}, nil)
			ch := newMemberChannel(e, testChannel)
			require.NoError(t, e.serve(testClientA, stanza.SetIQ, tc.to, "a1", testClientJoin))
			ans := e.awaitAnswer(testClientA, "a1")
			e.shutdown()
			if tc.accept {
				require.Equal(t, stanza.ResultIQ, ans.IQ.Type, ans.Payload)
				require.Equal(t, testUser.String(), ans.IQ.From.String())
				_, member := ch.member(testUser)
				require.True(t, member)
				return
			}
			requireError(t, ans, stanza.Auth, stanza.Forbidden)
			require.Equal(t, tc.to, ans.IQ.From.String(), "error comes from the addressed JID")
			require.Len(t, e.rec.Deliveries(), 1, "nothing but the error is sent")
			items, _ := e.items()
			require.Empty(t, items)
		})
	}
}

func TestJoinNeedsFullJIDSender(t *testing.T) {
	e := newJoinEnv(t, JoinConfig{}, nil)
	err := e.h.ServeIQ(context.Background(), stanza.IQ{Type: stanza.SetIQ, ID: "a1"},
		xml.NewDecoder(strings.NewReader(testClientJoin)), host.RouteReplies(e.rec))
	require.ErrorIs(t, err, host.ErrNoSender)
	require.Empty(t, e.rec.Deliveries())

	// A bare JID or a server is not a client session: answered forbidden
	// (RFC 6120 §8.2.3), from the JID addressed, and nothing is joined.
	for _, from := range []jid.JID{testUser, jid.MustParse("shakespeare.example/res"), jid.MustParse("montague.example")} {
		t.Run(from.String(), func(t *testing.T) {
			e := newJoinEnv(t, JoinConfig{}, nil)
			to := testUser.Bare()
			require.NoError(t, e.h.ServeIQ(context.Background(), stanza.IQ{Type: stanza.SetIQ, From: from, To: to, ID: "a1"},
				xml.NewDecoder(strings.NewReader(testClientJoin)), host.RouteReplies(e.rec)))
			ds := e.rec.Deliveries()
			require.Len(t, ds, 1, "only the error is sent")
			s := string(ds[0].Stanza)
			require.Contains(t, s, `type="error"`)
			require.Contains(t, s, `<forbidden xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">`)
			require.Contains(t, s, `from="`+to.String()+`"`)
			require.Equal(t, from.String(), ds[0].To.String())
			items, _ := e.items()
			require.Empty(t, items)
		})
	}
}

// Issue point 2: validation, with bad-request and a text for anything else.
func TestJoinRejectsInvalidRequests(t *testing.T) {
	const (
		open  = `<client-join xmlns='urn:xmpp:mix:pam:2' channel='coven@mix.shakespeare.example'>`
		close = `</client-join>`
		join  = `<join xmlns='urn:xmpp:mix:core:1'/>`
	)
	for _, tc := range []struct {
		name    string
		typ     stanza.IQType
		id      string
		payload string
		cond    stanza.Condition
	}{
		{name: "type get", typ: stanza.GetIQ, payload: testClientJoin},
		{name: "no id", id: "-", payload: testClientJoin},
		{name: "no payload", payload: ""},
		{name: "only whitespace", payload: "\n  "},
		{name: "unknown payload", payload: `<query xmlns='jabber:iq:roster'/>`, cond: stanza.ServiceUnavailable},
		{name: "unknown PAM element", payload: `<client-part xmlns='urn:xmpp:mix:pam:2' channel='coven@mix.shakespeare.example'/>`, cond: stanza.ServiceUnavailable},
		{name: "two payloads", payload: testClientJoin + testClientJoin},
		{name: "text beside payload", payload: testClientJoin + "x"},
		{name: "no channel", payload: `<client-join xmlns='urn:xmpp:mix:pam:2'>` + join + close},
		{name: "empty channel", payload: `<client-join xmlns='urn:xmpp:mix:pam:2' channel=''>` + join + close},
		{name: "namespaced channel attribute", payload: `<client-join xmlns='urn:xmpp:mix:pam:2' xmlns:x='urn:x' x:channel='coven@mix.shakespeare.example'>` + join + close},
		{name: "invalid channel JID", payload: `<client-join xmlns='urn:xmpp:mix:pam:2' channel='coven@@mix'>` + join + close},
		{name: "channel without localpart", payload: `<client-join xmlns='urn:xmpp:mix:pam:2' channel='mix.shakespeare.example'>` + join + close},
		{name: "channel with resource", payload: `<client-join xmlns='urn:xmpp:mix:pam:2' channel='coven@mix.shakespeare.example/r'>` + join + close},
		{name: "channel is the user", payload: `<client-join xmlns='urn:xmpp:mix:pam:2' channel='hag66@shakespeare.example'>` + join + close},
		{name: "no join", payload: open + close},
		{name: "two joins", payload: open + join + join + close},
		{name: "join in another namespace", payload: open + `<join xmlns='urn:xmpp:mix:anon:0'/>` + close},
		{name: "leave in client-join", payload: open + `<leave xmlns='urn:xmpp:mix:core:1'/>` + close},
		{name: "join in client-leave", payload: `<client-leave xmlns='urn:xmpp:mix:pam:2' channel='coven@mix.shakespeare.example'>` + join + `</client-leave>`},
		{name: "extra element", payload: open + join + `<x xmlns='jabber:x:data'/>` + close},
		{name: "text in client-join", payload: open + "hello" + join + close},
		{name: "unclosed", payload: open + `<join xmlns='urn:xmpp:mix:core:1'>`},
		{name: "not well-formed", payload: open + `<join xmlns='urn:xmpp:mix:core:1'></nick>` + close},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newJoinEnv(t, JoinConfig{}, nil)
			newMemberChannel(e, testChannel)
			typ := tc.typ
			if typ == "" {
				typ = stanza.SetIQ
			}
			id := "v1"
			if tc.id == "-" {
				id = ""
			}
			require.NoError(t, e.serve(testClientA, typ, "", id, tc.payload))
			ans := e.awaitAnswer(testClientA, id)
			cond, errType := tc.cond, stanza.Modify
			if cond == "" {
				cond = stanza.BadRequest
			} else {
				errType = stanza.Cancel
			}
			requireError(t, ans, errType, cond)
			require.Equal(t, testUser.String(), ans.IQ.From.String())
			require.Equal(t, testClientA.String(), ans.IQ.To.String())
			e.shutdown()
			require.Len(t, e.rec.Deliveries(), 1, "nothing but the error is sent")
		})
	}
}

func TestJoinIgnoresAnswers(t *testing.T) {
	e := newJoinEnv(t, JoinConfig{}, nil)
	for _, typ := range []stanza.IQType{stanza.ResultIQ, stanza.ErrorIQ} {
		require.NoError(t, e.serve(testClientA, typ, "", "r1", testClientJoin))
	}
	e.shutdown()
	require.Empty(t, e.rec.Deliveries(), "an IQ result or error is never answered")
}

// Issue point 3: the client's <join/> and <leave/> reach the channel
// verbatim, from the bare JID, with the client's id.
func TestJoinForwardsVerbatim(t *testing.T) {
	const join = `<join xmlns="urn:xmpp:mix:core:1" extra="kept &amp; &quot;escaped&quot;">
  <subscribe node="urn:xmpp:mix:nodes:messages"/>
  <subscribe node="urn:xmpp:mix:nodes:presence"/>
  <nick>third witch &lt;3</nick>
  <x xmlns="jabber:x:data" type="submit">
    <field var="FORM_TYPE" type="hidden"><value>urn:xmpp:mix:anon:0</value></field>
    <field var="JID Visibility"><value>never</value></field>
  </x>
  <invitation xmlns="urn:xmpp:mix:misc:0">
    <inviter>hecate@shakespeare.example</inviter>
    <invitee>hag66@shakespeare.example</invitee>
    <channel>coven@mix.shakespeare.example</channel>
    <token>ABCDEF</token>
  </invitation>
  <future xmlns="urn:example:future" xmlns:p="urn:example:attr" p:flag="on"><deep><deeper>text</deeper></deep></future>
</join>`
	const leave = `<leave xmlns="urn:xmpp:mix:core:1"><reason xmlns="urn:example:reason">bye</reason></leave>`

	e := newJoinEnv(t, JoinConfig{}, nil)
	ch := newMemberChannel(e, testChannel)
	e.join(testClientA, "E6E10350-76CF-40C6-B91B-1EA08C332FC7", testChannel, join)
	e.awaitAnswer(testClientA, "E6E10350-76CF-40C6-B91B-1EA08C332FC7")
	require.NoError(t, e.serve(testClientA, stanza.SetIQ, "", "leave-1",
		`<client-leave xmlns='urn:xmpp:mix:pam:2' channel='coven@mix.shakespeare.example'>`+leave+`</client-leave>`))
	e.awaitAnswer(testClientA, "leave-1")

	reqs := e.awaitRequests(testChannel, 2)
	for i, want := range []struct{ id, inner string }{
		{"E6E10350-76CF-40C6-B91B-1EA08C332FC7", join},
		{"leave-1", leave},
	} {
		got := reqs[i]
		require.Equal(t, stanza.SetIQ, got.IQ.Type)
		require.Equal(t, testUser.String(), got.IQ.From.String(), "from the user's bare JID")
		require.Equal(t, testChannel.String(), got.IQ.To.String())
		require.Equal(t, want.id, got.IQ.ID, "the client's id is kept")
		require.Equal(t, canonicalXML(t, want.inner), canonicalXML(t, got.Payload))
	}
	_, member := ch.member(testUser)
	require.False(t, member)
}

// Issue point 4: answers that are not from exactly the channel, to exactly
// the user's bare JID, with the same id, change nothing.
func TestJoinIgnoresSpoofedAnswers(t *testing.T) {
	const result = `<join xmlns="urn:xmpp:mix:core:1" id="666"/>`
	for _, tc := range []struct {
		name     string
		typ      stanza.IQType
		from, to string
		id       string
	}{
		{name: "from another channel", from: "other@mix.shakespeare.example"},
		{name: "from the channel's domain", from: "mix.shakespeare.example"},
		{name: "from a channel resource", from: "coven@mix.shakespeare.example/123456"},
		{name: "from a participant JID", from: "123456#coven@mix.shakespeare.example"},
		{name: "from the user", from: testUser.String()},
		{name: "wrong id", id: "other"},
		{name: "id differs in case", id: "J1"},
		{name: "to the client's full JID", to: testClientA.String()},
		{name: "to another user", to: testOther.String()},
		{name: "type get", typ: stanza.GetIQ},
		{name: "type set", typ: stanza.SetIQ},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newJoinEnv(t, JoinConfig{}, nil)
			e.join(testClientA, "j1", testChannel, testJoin)
			req := e.awaitRequests(testChannel, 1)[0]
			require.Equal(t, 1, e.h.Pending(), "ServeIQ returned before the channel answered")

			typ, from, to, id := stanza.ResultIQ, testChannel.String(), testUser.String(), "j1"
			if tc.typ != "" {
				typ = tc.typ
			}
			if tc.from != "" {
				from = tc.from
			}
			if tc.to != "" {
				to = tc.to
			}
			if tc.id != "" {
				id = tc.id
			}
			require.False(t, e.answer(typ, jid.MustParse(from), jid.MustParse(to), id, result), "spoof consumed")
			if tc.typ == "" {
				require.False(t, e.answer(stanza.ErrorIQ, jid.MustParse(from), jid.MustParse(to), id,
					`<error type="cancel"><not-allowed xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>`), "spoof consumed")
			}

			require.Empty(t, e.rec.To(testClientA), "nothing forwarded to the client")
			items, ver := e.items()
			require.Empty(t, items)
			require.Zero(t, ver)
			require.Equal(t, 1, e.ex.Pending())
			require.Equal(t, 1, e.h.Pending())

			e.reply(req, stanza.ResultIQ, `<join xmlns="urn:xmpp:mix:core:1" id="123456"/>`)
			ans := e.awaitAnswer(testClientA, "j1")
			require.Equal(t, stanza.ResultIQ, ans.IQ.Type)
			require.Contains(t, ans.Payload, `id="123456"`)
			e.shutdown()
			items, _ = e.items()
			require.Len(t, items, 1)
			require.Equal(t, "123456", items[0].ParticipantID)
		})
	}
}

func TestJoinTimeout(t *testing.T) {
	e := newJoinEnv(t, JoinConfig{Timeout: 50 * time.Millisecond}, nil)
	e.join(testClientA, "t1", testChannel, testJoin)
	e.join(testClientB, "t2", testChannel, testJoin) // queued behind t1
	for _, c := range []struct {
		client jid.JID
		id     string
	}{{testClientA, "t1"}, {testClientB, "t2"}} {
		ans := e.awaitAnswer(c.client, c.id)
		requireError(t, ans, stanza.Wait, stanza.RemoteServerTimeout)
		require.Equal(t, testUser.String(), ans.IQ.From.String())
		require.Equal(t, c.client.String(), ans.IQ.To.String())
	}
	e.shutdown()
	require.Zero(t, e.ex.Pending())
	// Whatever reached the channel in time (on a loaded machine, maybe
	// nothing), an answer later than one more Timeout is not taken.
	for _, d := range e.rec.To(testChannel) {
		req := parseTestStanza(t, d)
		require.False(t, e.answer(stanza.ResultIQ, req.IQ.To, req.IQ.From, req.IQ.ID, `<join xmlns="urn:xmpp:mix:core:1" id="1"/>`),
			"a late answer is not taken")
	}
	items, _ := e.items()
	require.Empty(t, items)
	require.Len(t, e.answers(testClientA, "t1"), 1)
	require.Len(t, e.answers(testClientB, "t2"), 1)
}

func TestJoinPendingBound(t *testing.T) {
	e := newJoinEnv(t, JoinConfig{MaxPending: 2}, nil)
	other := jid.MustParse("hecate@shakespeare.example/cauldron")
	e.sessions.Add(host.Resource{JID: other, Interested: true, MIXCapable: true})
	chans := []jid.JID{testChannel, jid.MustParse("heath@mix.shakespeare.example"), jid.MustParse("cave@mix.shakespeare.example")}

	e.join(testClientA, "b1", chans[0], testJoin)
	e.join(testClientB, "b2", chans[0], testJoin) // queued: counts too
	e.join(testClientA, "b3", chans[1], testJoin)
	ans := e.awaitAnswer(testClientA, "b3")
	requireError(t, ans, stanza.Wait, stanza.ResourceConstraint)
	require.Equal(t, testUser.String(), ans.IQ.From.String())
	require.Empty(t, e.rec.To(chans[1]))

	e.join(other, "o1", chans[2], testJoin) // another user has a bound of its own
	e.awaitRequests(chans[2], 1)
	require.Equal(t, 3, e.h.Pending())

	reqs := e.awaitRequests(chans[0], 1)
	e.reply(reqs[0], stanza.ResultIQ, `<join xmlns="urn:xmpp:mix:core:1" id="1"/>`)
	reqs = e.awaitRequests(chans[0], 2)
	e.reply(reqs[1], stanza.ResultIQ, `<join xmlns="urn:xmpp:mix:core:1" id="1"/>`)
	o := e.awaitRequests(chans[2], 1)[0]
	e.reply(o, stanza.ResultIQ, `<join xmlns="urn:xmpp:mix:core:1" id="2"/>`)
	require.Equal(t, stanza.ResultIQ, e.awaitAnswer(testClientA, "b1").IQ.Type)
	require.Equal(t, stanza.ResultIQ, e.awaitAnswer(testClientB, "b2").IQ.Type)
	require.Equal(t, stanza.ResultIQ, e.awaitAnswer(other, "o1").IQ.Type)

	// The slots are free again.
	newMemberChannel(e, chans[1])
	e.join(testClientA, "b4", chans[1], testJoin)
	require.Equal(t, stanza.ResultIQ, e.awaitAnswer(testClientA, "b4").IQ.Type)
}

// Issue point 5: a join result stores the item, pushes it and answers with
// the channel's <join/> verbatim.
func TestJoinResult(t *testing.T) {
	const (
		shareForm = `<x xmlns="jabber:x:data" type="%s"><field var="FORM_TYPE" type="hidden"><value>urn:xmpp:mix:anon:0</value></field><field var="Presence"><value>%s</value></field></x>`
		subs      = `<subscribe node="urn:xmpp:mix:nodes:messages"/><subscribe node="urn:xmpp:mix:nodes:presence"/>`
	)
	notShare := func(typ string) string { return fmt.Sprintf(shareForm, typ, "not share") }
	share := func(typ string) string { return fmt.Sprintf(shareForm, typ, "share") }
	for _, tc := range []struct {
		name    string
		request string // the <join/> children
		result  string // the channel's whole answer payload
		pid     string
		sub     roster.Subscription
	}{
		{
			name:   "XEP-0369 id attribute",
			result: `<join xmlns="urn:xmpp:mix:core:1" id="123456">` + subs + `<nick>third witch</nick></join>`,
			pid:    "123456", sub: roster.From,
		},
		{
			name:   "XEP-0405 Listing 6 jid attribute",
			result: `<join xmlns="urn:xmpp:mix:core:1" jid="123456#coven@mix.shakespeare.example">` + subs + `</join>`,
			pid:    "123456", sub: roster.From,
		},
		{
			name:   "id and jid",
			result: `<join xmlns="urn:xmpp:mix:core:1" id="abc" jid="123456#coven@mix.shakespeare.example"/>`,
			pid:    "abc", sub: roster.From,
		},
		{
			name:   "invalid id falls back to jid",
			result: `<join xmlns="urn:xmpp:mix:core:1" id="a#b" jid="123456#coven@mix.shakespeare.example"/>`,
			pid:    "123456", sub: roster.From,
		},
		{
			name:   "jid of another channel",
			result: `<join xmlns="urn:xmpp:mix:core:1" jid="123456#heath@mix.shakespeare.example"/>`,
			pid:    "", sub: roster.From,
		},
		{
			name:   "no join in the result",
			result: ``,
			pid:    "", sub: roster.From,
		},
		{
			name:    "result says not share",
			request: subs,
			result:  `<join xmlns="urn:xmpp:mix:core:1" id="1">` + subs + notShare("result") + `</join>`,
			pid:     "1", sub: roster.None,
		},
		{
			name:    "request says not share, result has no form",
			request: subs + notShare("submit"),
			result:  `<join xmlns="urn:xmpp:mix:core:1" id="1">` + subs + `</join>`,
			pid:     "1", sub: roster.None,
		},
		{
			name:    "result overrides the request",
			request: notShare("submit"),
			result:  `<join xmlns="urn:xmpp:mix:core:1" id="1">` + share("result") + `</join>`,
			pid:     "1", sub: roster.From,
		},
		{
			name:    "XEP-0404 values in any case: request 'Not Share'",
			request: fmt.Sprintf(shareForm, "submit", "Not Share"),
			result:  `<join xmlns="urn:xmpp:mix:core:1" id="1"/>`,
			pid:     "1", sub: roster.None,
		},
		{
			name:    "XEP-0404 values in any case: result 'Share' overrides the request",
			request: notShare("submit"),
			result:  `<join xmlns="urn:xmpp:mix:core:1" id="1">` + fmt.Sprintf(shareForm, "result", "Share") + `</join>`,
			pid:     "1", sub: roster.From,
		},
		{
			name:    "form of another type",
			request: strings.Replace(notShare("submit"), "urn:xmpp:mix:anon:0", "urn:example:form", 1),
			result:  `<join xmlns="urn:xmpp:mix:core:1" id="1"/>`,
			pid:     "1", sub: roster.From,
		},
		{
			name:   "not subscribing to presence still shares",
			result: `<join xmlns="urn:xmpp:mix:core:1" id="1"><subscribe node="urn:xmpp:mix:nodes:messages"/></join>`,
			pid:    "1", sub: roster.From,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newJoinEnv(t, JoinConfig{}, nil)
			e.setChannel(testChannel, func(req testStanza) { e.reply(req, stanza.ResultIQ, tc.result) })
			e.join(testClientA, "r1", testChannel, `<join xmlns="urn:xmpp:mix:core:1">`+tc.request+`</join>`)
			ans := e.awaitAnswer(testClientA, "r1")
			e.shutdown()

			items, ver := e.items()
			require.Equal(t, []roster.Item{{
				JID: testChannel, Name: "coven", Subscription: tc.sub, Channel: true, ParticipantID: tc.pid,
			}}, items)
			require.Equal(t, uint64(1), ver)

			require.Equal(t, stanza.ResultIQ, ans.IQ.Type)
			require.Equal(t, testUser.String(), ans.IQ.From.String())
			require.Equal(t, testClientA.String(), ans.IQ.To.String())
			_, join, ok := joinResultCommand([]byte(tc.result), mixJoinName)
			if !ok {
				join = nil
			}
			require.Equal(t, canonicalXML(t, `<client-join xmlns="urn:xmpp:mix:pam:2">`+string(join)+`</client-join>`),
				canonicalXML(t, ans.Payload), "the channel's <join/> is wrapped verbatim")

			// Pushed to both resources, annotated only for A, before the answer.
			pa, pb := e.pushes(testClientA), e.pushes(testClientB)
			require.Len(t, pa, 1)
			require.Len(t, pb, 1)
			wantItem := `<item jid="coven@mix.shakespeare.example" name="coven" subscription="` + string(tc.sub) + `"`
			require.Contains(t, pa[0].Payload, wantItem)
			require.Contains(t, pa[0].Payload, `ver="1`, "annotated sessions may see a suffixed version")
			require.Contains(t, pb[0].Payload, `ver="1"`)
			require.Contains(t, pa[0].Payload, `<channel xmlns="urn:xmpp:mix:roster:0" participant-id="`+tc.pid+`"`)
			require.Contains(t, pb[0].Payload, wantItem)
			require.NotContains(t, pb[0].Payload, "urn:xmpp:mix:roster:0")
			toA := e.rec.To(testClientA)
			require.Len(t, toA, 2)
			require.Equal(t, pa[0], parseTestStanza(t, toA[0]), "the push comes before the answer")
		})
	}
}

// Issue point 6: a leave result removes the item, pushes the removal and
// answers with the channel's <leave/>; nothing changes before.
func TestJoinLeaveResult(t *testing.T) {
	for _, tc := range []struct {
		name, result, want string
	}{
		{
			name:   "XEP-0405 Listing 10",
			result: `<leave xmlns="urn:xmpp:mix:core:1"/>`,
			want:   `<leave xmlns="urn:xmpp:mix:core:1"/>`,
		},
		{
			name:   "leave with content",
			result: `<leave xmlns="urn:xmpp:mix:core:1" x="y"><note xmlns="urn:example">bye</note></leave>`,
			want:   `<leave xmlns="urn:xmpp:mix:core:1" x="y"><note xmlns="urn:example">bye</note></leave>`,
		},
		{
			name:   "empty result",
			result: ``,
			want:   `<leave xmlns="urn:xmpp:mix:core:1"/>`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newJoinEnv(t, JoinConfig{}, nil)
			newMemberChannel(e, testChannel)
			e.join(testClientA, "j1", testChannel, testJoin)
			e.awaitAnswer(testClientA, "j1")
			e.setChannel(testChannel, nil)
			e.rec.Reset()

			e.leave(testClientB, "l1", testChannel)
			req := e.awaitRequests(testChannel, 1)[0]
			items, ver := e.items()
			require.Len(t, items, 1, "the roster does not change before the channel confirmed")
			require.Equal(t, uint64(1), ver)

			e.reply(req, stanza.ResultIQ, tc.result)
			ans := e.awaitAnswer(testClientB, "l1")
			e.shutdown()
			require.Equal(t, stanza.ResultIQ, ans.IQ.Type)
			require.Equal(t, testUser.String(), ans.IQ.From.String())
			require.Equal(t, canonicalXML(t, `<client-leave xmlns="urn:xmpp:mix:pam:2">`+tc.want+`</client-leave>`),
				canonicalXML(t, ans.Payload))
			items, ver = e.items()
			require.Empty(t, items)
			require.Equal(t, uint64(2), ver)
			for _, c := range []jid.JID{testClientA, testClientB} {
				p := e.pushes(c)
				require.Len(t, p, 1)
				require.Contains(t, p[0].Payload, `<item jid="coven@mix.shakespeare.example" subscription="remove"`)
				require.Contains(t, p[0].Payload, `ver="2`)
			}
		})
	}
}

func TestJoinLeaveWithoutRosterItem(t *testing.T) {
	e := newJoinEnv(t, JoinConfig{}, nil)
	e.setChannel(testChannel, func(req testStanza) {
		e.reply(req, stanza.ResultIQ, `<leave xmlns="urn:xmpp:mix:core:1"/>`)
	})
	e.leave(testClientA, "l1", testChannel)
	require.Equal(t, stanza.ResultIQ, e.awaitAnswer(testClientA, "l1").IQ.Type)
	e.shutdown()
	require.Empty(t, e.pushes(testClientA), "nothing changed, nothing pushed")
	_, ver := e.items()
	require.Zero(t, ver)
}

// Issue point 7: the channel's error reaches the client with its type,
// condition, texts and extra elements; the roster does not change.
func TestJoinChannelError(t *testing.T) {
	const multi = `<error type="cancel" by="coven@mix.shakespeare.example"><conflict xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas" xml:lang="en">Nick in use</text><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas" xml:lang="de">Nick vergeben</text><nick-taken xmlns="urn:example:mix"><nick>third witch</nick></nick-taken></error>`
	for _, tc := range []struct {
		name    string
		leave   bool
		payload string
		want    string // the <error/> the client gets; "" for undefined-condition
	}{
		{name: "several children", payload: multi, want: multi},
		{name: "several children on leave", leave: true, payload: multi, want: multi},
		{name: "text before condition", payload: `<error type="auth"><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">who?</text><not-authorized xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>`,
			want: `<error type="auth"><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">who?</text><not-authorized xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>`},
		{name: "request echoed before the error", payload: `<join xmlns="urn:xmpp:mix:core:1"/><error type="wait"><resource-constraint xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>`,
			want: `<error type="wait"><resource-constraint xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>`},
		{name: "no error element", payload: `<join xmlns="urn:xmpp:mix:core:1"/>`},
		{name: "empty", payload: ``},
		{name: "no condition", payload: `<error type="cancel"><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">oops</text></error>`},
		{name: "unknown type", payload: `<error type="later"><conflict xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>`},
		{name: "invalid by", payload: `<error type="cancel" by=" "><conflict xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>`},
		{name: "no type", payload: `<error><conflict xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>`},
		{name: "error in another namespace", payload: `<error xmlns="urn:example" type="cancel"><conflict xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newJoinEnv(t, JoinConfig{}, nil)
			var ch *memberChannel
			if tc.leave {
				ch = newMemberChannel(e, testChannel)
				e.join(testClientA, "j0", testChannel, testJoin)
				e.awaitAnswer(testClientA, "j0")
			}
			e.setChannel(testChannel, func(req testStanza) { e.reply(req, stanza.ErrorIQ, tc.payload) })
			itemsBefore, verBefore := e.items()
			if tc.leave {
				e.leave(testClientA, "e1", testChannel)
			} else {
				e.join(testClientA, "e1", testChannel, testJoin)
			}
			ans := e.awaitAnswer(testClientA, "e1")
			e.shutdown()
			require.Equal(t, stanza.ErrorIQ, ans.IQ.Type)
			require.Equal(t, testUser.String(), ans.IQ.From.String())
			require.Equal(t, testClientA.String(), ans.IQ.To.String())
			if tc.want != "" {
				require.Equal(t, canonicalXML(t, tc.want), canonicalXML(t, ans.Payload))
			} else {
				requireError(t, ans, stanza.Cancel, stanza.UndefinedCondition)
			}
			items, ver := e.items()
			require.Equal(t, itemsBefore, items, "the roster does not change")
			require.Equal(t, verBefore, ver)
			if ch != nil {
				require.Len(t, e.pushes(testClientA), 1, "only the join was pushed")
			} else {
				require.Empty(t, e.pushes(testClientA))
			}
		})
	}
}

// failingStore fails Put and Delete a given number of times (-1: always).
type failingStore struct {
	roster.Store
	mu                 sync.Mutex
	putFails, delFails int
	puts, dels         int
}

var errStoreDown = errors.New("store down")

func (s *failingStore) Put(ctx context.Context, user jid.JID, item roster.Item) (uint64, error) {
	s.mu.Lock()
	s.puts++
	fail := s.putFails != 0
	if s.putFails > 0 {
		s.putFails--
	}
	s.mu.Unlock()
	if fail {
		return 0, errStoreDown
	}
	return s.Store.Put(ctx, user, item)
}

func (s *failingStore) Delete(ctx context.Context, user, contact jid.JID) (uint64, error) {
	s.mu.Lock()
	s.dels++
	fail := s.delFails != 0
	if s.delFails > 0 {
		s.delFails--
	}
	s.mu.Unlock()
	if fail {
		return 0, errStoreDown
	}
	return s.Store.Delete(ctx, user, contact)
}

// Issue point 8: a roster that cannot be written after the channel accepted.
func TestJoinStoreFailure(t *testing.T) {
	t.Run("join compensated by a leave", func(t *testing.T) {
		fs := &failingStore{putFails: -1}
		e := newJoinEnv(t, JoinConfig{StoreAttempts: 2}, func(s roster.Store) roster.Store { fs.Store = s; return fs })
		ch := newMemberChannel(e, testChannel)
		e.join(testClientA, "s1", testChannel, testJoin)
		ans := e.awaitAnswer(testClientA, "s1")
		e.shutdown()
		se := requireError(t, ans, stanza.Cancel, stanza.InternalServerError)
		require.Contains(t, se.Text[""], "left the channel again")
		require.Equal(t, 2, fs.puts, "tried StoreAttempts times")

		reqs := e.awaitRequests(testChannel, 2)
		require.Len(t, reqs, 2)
		require.Equal(t, testUser.String(), reqs[1].IQ.From.String())
		require.NotEqual(t, "s1", reqs[1].IQ.ID, "the compensating leave has an id of its own")
		require.Equal(t, canonicalXML(t, `<leave xmlns="urn:xmpp:mix:core:1"/>`), canonicalXML(t, reqs[1].Payload))
		_, member := ch.member(testUser)
		require.False(t, member, "the channel and the roster agree again")
		items, ver := e.items()
		require.Empty(t, items)
		require.Zero(t, ver)
		require.Empty(t, e.pushes(testClientA))
	})

	t.Run("join not compensated", func(t *testing.T) {
		fs := &failingStore{putFails: -1}
		e := newJoinEnv(t, JoinConfig{StoreAttempts: 1}, func(s roster.Store) roster.Store { fs.Store = s; return fs })
		e.setChannel(testChannel, func(req testStanza) {
			if strings.HasPrefix(req.Payload, "<join") {
				e.reply(req, stanza.ResultIQ, `<join xmlns="urn:xmpp:mix:core:1" id="1"/>`)
				return
			}
			e.reply(req, stanza.ErrorIQ, `<error type="wait"><internal-server-error xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>`)
		})
		e.join(testClientA, "s1", testChannel, testJoin)
		ans := e.awaitAnswer(testClientA, "s1")
		e.shutdown()
		se := requireError(t, ans, stanza.Cancel, stanza.InternalServerError)
		require.Contains(t, se.Text[""], "keeps trying to leave it")
		require.Len(t, e.awaitRequests(testChannel, 2), 2)
		require.Len(t, e.answers(testClientA, "s1"), 1)
	})

	t.Run("join again kept", func(t *testing.T) {
		fs := &failingStore{}
		e := newJoinEnv(t, JoinConfig{StoreAttempts: 1}, func(s roster.Store) roster.Store { fs.Store = s; return fs })
		ch := newMemberChannel(e, testChannel)
		e.join(testClientA, "j1", testChannel, testJoin)
		e.awaitAnswer(testClientA, "j1")
		itemsBefore, verBefore := e.items()
		fs.mu.Lock()
		fs.putFails = -1
		fs.mu.Unlock()
		e.join(testClientB, "j2", testChannel, testJoin)
		ans := e.awaitAnswer(testClientB, "j2")
		e.shutdown()
		se := requireError(t, ans, stanza.Cancel, stanza.InternalServerError)
		require.Contains(t, se.Text[""], "stays in your roster as before")
		require.Len(t, e.rec.To(testChannel), 2, "no compensating leave")
		_, member := ch.member(testUser)
		require.True(t, member)
		items, ver := e.items()
		require.Equal(t, itemsBefore, items)
		require.Equal(t, verBefore, ver)
	})

	t.Run("transient failure retried", func(t *testing.T) {
		fs := &failingStore{putFails: 2}
		e := newJoinEnv(t, JoinConfig{StoreAttempts: 3}, func(s roster.Store) roster.Store { fs.Store = s; return fs })
		newMemberChannel(e, testChannel)
		e.join(testClientA, "s1", testChannel, testJoin)
		require.Equal(t, stanza.ResultIQ, e.awaitAnswer(testClientA, "s1").IQ.Type)
		e.shutdown()
		require.Equal(t, 3, fs.puts)
		items, _ := e.items()
		require.Len(t, items, 1)
		require.Len(t, e.awaitRequests(testChannel, 1), 1, "no compensation")
	})

	t.Run("leave", func(t *testing.T) {
		fs := &failingStore{delFails: -1}
		e := newJoinEnv(t, JoinConfig{StoreAttempts: 2}, func(s roster.Store) roster.Store { fs.Store = s; return fs })
		ch := newMemberChannel(e, testChannel)
		e.join(testClientA, "j1", testChannel, testJoin)
		e.awaitAnswer(testClientA, "j1")
		e.leave(testClientA, "l1", testChannel)
		ans := e.awaitAnswer(testClientA, "l1")
		e.shutdown()
		se := requireError(t, ans, stanza.Cancel, stanza.InternalServerError)
		require.Contains(t, se.Text[""], "could not remove the channel from your roster")
		require.GreaterOrEqual(t, fs.dels, 2, "StoreAttempts while the client waited, then repairs")
		_, member := ch.member(testUser)
		require.False(t, member)
		items, _ := e.items()
		require.Len(t, items, 1, "the store never worked again: the repair was abandoned at Shutdown")
		require.Len(t, e.pushes(testClientA), 1, "only the join was pushed")
	})
}

// Issue point 9: concurrent requests of one user for one channel.
func TestJoinConcurrency(t *testing.T) {
	t.Run("two resources join at once", func(t *testing.T) {
		e := newJoinEnv(t, JoinConfig{}, nil)
		e.join(testClientA, "a", testChannel, testJoin)
		e.join(testClientB, "b", testChannel, testJoin)
		first := e.awaitRequests(testChannel, 1)[0]
		require.Equal(t, "a", first.IQ.ID)
		e.reply(first, stanza.ResultIQ, `<join xmlns="urn:xmpp:mix:core:1" id="p1"/>`)
		second := e.awaitRequests(testChannel, 2)[1]
		require.Equal(t, "b", second.IQ.ID)
		e.reply(second, stanza.ResultIQ, `<join xmlns="urn:xmpp:mix:core:1" id="p1"/>`)
		e.awaitAnswer(testClientB, "b")
		e.shutdown()
		requireOrder(t, e, answerTo(testClientA, "a"), requestWithID(testChannel, "b"))
		require.Len(t, e.answers(testClientA, "a"), 1)
		require.Len(t, e.answers(testClientB, "b"), 1)
		items, ver := e.items()
		require.Len(t, items, 1)
		require.Equal(t, uint64(2), ver)
	})

	t.Run("same id from two resources", func(t *testing.T) {
		e := newJoinEnv(t, JoinConfig{}, nil)
		e.join(testClientA, "dup", testChannel, testJoin)
		e.leave(testClientB, "dup", testChannel)
		first := e.awaitRequests(testChannel, 1)[0]
		require.Equal(t, "dup", first.IQ.ID)
		require.Contains(t, first.Payload, "<join")
		e.reply(first, stanza.ResultIQ, `<join xmlns="urn:xmpp:mix:core:1" id="p1"/>`)
		second := e.awaitRequests(testChannel, 2)[1]
		require.Equal(t, "dup", second.IQ.ID, "the second keeps its id")
		require.Contains(t, second.Payload, "<leave")
		e.reply(second, stanza.ResultIQ, `<leave xmlns="urn:xmpp:mix:core:1"/>`)
		e.awaitAnswer(testClientB, "dup")
		e.shutdown()
		a, b := e.answers(testClientA, "dup"), e.answers(testClientB, "dup")
		require.Len(t, a, 1)
		require.Len(t, b, 1)
		require.Contains(t, a[0].Payload, "client-join")
		require.Contains(t, b[0].Payload, "client-leave")
		items, _ := e.items()
		require.Empty(t, items)
	})

	for _, order := range []string{"join first", "leave first"} {
		t.Run("join and leave race, "+order, func(t *testing.T) {
			e := newJoinEnv(t, JoinConfig{}, nil)
			if order == "leave first" {
				ch := newMemberChannel(e, testChannel)
				e.join(testClientA, "j0", testChannel, testJoin)
				e.awaitAnswer(testClientA, "j0")
				e.setChannel(testChannel, nil)
				_, member := ch.member(testUser)
				require.True(t, member)
				e.rec.Reset()
				e.leave(testClientA, "x1", testChannel)
				e.join(testClientB, "x2", testChannel, testJoin)
			} else {
				e.join(testClientA, "x1", testChannel, testJoin)
				e.leave(testClientB, "x2", testChannel)
			}
			// The channel answers in its order; the roster follows it.
			reqs := e.awaitRequests(testChannel, 1)
			e.reply(reqs[0], stanza.ResultIQ, resultFor(reqs[0]))
			reqs = e.awaitRequests(testChannel, 2)
			e.reply(reqs[1], stanza.ResultIQ, resultFor(reqs[1]))
			e.awaitAnswer(testClientB, "x2")
			e.shutdown()
			require.Len(t, e.answers(testClientA, "x1"), 1)
			require.Len(t, e.answers(testClientB, "x2"), 1)
			items, _ := e.items()
			if order == "join first" {
				require.Empty(t, items, "the leave was confirmed last")
			} else {
				require.Len(t, items, 1, "the join was confirmed last")
			}
		})
	}

	t.Run("many at once", func(t *testing.T) {
		e := newJoinEnv(t, JoinConfig{MaxPending: 1000}, nil)
		ch := newMemberChannel(e, testChannel)
		clients := []jid.JID{testClientA, testClientB}
		const perClient = 40
		var wg sync.WaitGroup
		for c, client := range clients {
			wg.Go(func() {
				for i := range perClient {
					// Reuse ids across clients on purpose.
					id := fmt.Sprintf("m%d", i)
					if (i+c)%2 == 0 {
						e.join(client, id, testChannel, testJoin)
					} else {
						e.leave(client, id, testChannel)
					}
				}
			})
		}
		wg.Wait()
		e.shutdown()
		answers := make(map[string]int)
		for _, d := range e.rec.Deliveries() {
			if s := parseTestStanza(t, d); isAnswer(s.IQ.ID)(s) {
				answers[d.To.String()+" "+s.IQ.ID]++
			}
		}
		require.Len(t, answers, len(clients)*perClient)
		for key, n := range answers {
			require.Equal(t, 1, n, key)
		}
		items, _ := e.items()
		pid, member := ch.member(testUser)
		if member {
			require.Len(t, items, 1)
			require.Equal(t, pid, items[0].ParticipantID)
		} else {
			require.Empty(t, items)
		}
	})
}

// resultFor is the result a cooperative channel gives to req.
func resultFor(req testStanza) string {
	if strings.HasPrefix(req.Payload, "<leave") {
		return `<leave xmlns="urn:xmpp:mix:core:1"/>`
	}
	return `<join xmlns="urn:xmpp:mix:core:1" id="p1"/>`
}

func answerTo(client jid.JID, id string) func(hosttest.Delivery, testStanza) bool {
	return func(d hosttest.Delivery, s testStanza) bool {
		return d.To.String() == client.String() && isAnswer(id)(s)
	}
}

func requestWithID(channel jid.JID, id string) func(hosttest.Delivery, testStanza) bool {
	return func(d hosttest.Delivery, s testStanza) bool {
		return d.To.String() == channel.String() && s.IQ.Type == stanza.SetIQ && s.IQ.ID == id
	}
}

// requireOrder checks that the first delivery matching before was recorded
// before the first matching after.
func requireOrder(t *testing.T, e *joinEnv, before, after func(hosttest.Delivery, testStanza) bool) {
	t.Helper()
	ib, ia := -1, -1
	for i, d := range e.rec.Deliveries() {
		s := parseTestStanza(t, d)
		if ib < 0 && before(d, s) {
			ib = i
		}
		if ia < 0 && after(d, s) {
			ia = i
		}
	}
	require.GreaterOrEqual(t, ib, 0)
	require.GreaterOrEqual(t, ia, 0)
	require.Less(t, ib, ia)
}

func TestJoinShutdown(t *testing.T) {
	e := newJoinEnv(t, JoinConfig{}, nil)
	e.join(testClientA, "s1", testChannel, testJoin)
	req := e.awaitRequests(testChannel, 1)[0]

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, e.h.Shutdown(ctx), context.Canceled, "a request is still pending")

	e.join(testClientB, "s2", testChannel, testJoin)
	requireError(t, e.awaitAnswer(testClientB, "s2"), stanza.Cancel, stanza.ServiceUnavailable)

	e.reply(req, stanza.ResultIQ, `<join xmlns="urn:xmpp:mix:core:1" id="1"/>`)
	require.Equal(t, stanza.ResultIQ, e.awaitAnswer(testClientA, "s1").IQ.Type, "accepted requests still finish")
	e.shutdown()
}

// exchangerFunc is an Exchanger made of a function.
type exchangerFunc func(context.Context, stanza.IQ, xml.TokenReader) (host.Response, error)

func (f exchangerFunc) Exchange(ctx context.Context, req stanza.IQ, payload xml.TokenReader) (host.Response, error) {
	return f(ctx, req, payload)
}

// Failures of the Exchanger itself.
func TestJoinExchangerFailures(t *testing.T) {
	result := func(from, to jid.JID, id string) host.Response {
		return host.Response{
			IQ:      stanza.IQ{Type: stanza.ResultIQ, From: from, To: to, ID: id},
			Payload: []byte(`<join xmlns="urn:xmpp:mix:core:1" id="1"/>`),
		}
	}
	for _, tc := range []struct {
		name string
		ex   exchangerFunc
		typ  stanza.ErrorType
		cond stanza.Condition
	}{
		{
			name: "id in flight elsewhere",
			ex: func(context.Context, stanza.IQ, xml.TokenReader) (host.Response, error) {
				return host.Response{}, host.ErrInFlight
			},
			typ: stanza.Wait, cond: stanza.ResourceConstraint,
		},
		{
			name: "cannot send",
			ex: func(context.Context, stanza.IQ, xml.TokenReader) (host.Response, error) {
				return host.Response{}, errors.New("no route")
			},
			typ: stanza.Cancel, cond: stanza.RemoteServerNotFound,
		},
		{
			name: "answer from elsewhere",
			ex: func(_ context.Context, req stanza.IQ, _ xml.TokenReader) (host.Response, error) {
				return result(testOther, req.From, req.ID), nil
			},
			typ: stanza.Cancel, cond: stanza.InternalServerError,
		},
		{
			name: "answer with another id",
			ex: func(_ context.Context, req stanza.IQ, _ xml.TokenReader) (host.Response, error) {
				return result(req.To, req.From, "x"), nil
			},
			typ: stanza.Cancel, cond: stanza.InternalServerError,
		},
		{
			name: "answer of type set",
			ex: func(_ context.Context, req stanza.IQ, _ xml.TokenReader) (host.Response, error) {
				r := result(req.To, req.From, req.ID)
				r.IQ.Type = stanza.SetIQ
				return r, nil
			},
			typ: stanza.Cancel, cond: stanza.InternalServerError,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := hosttest.NewRecorder(nil)
			store := roster.NewMemStore()
			h, err := NewJoinHandler(JoinConfig{Exchanger: tc.ex, Roster: newRoster(t, store, host.NewMemSessions(), rec)})
			require.NoError(t, err)
			require.NoError(t, h.ServeIQ(context.Background(), stanza.IQ{Type: stanza.SetIQ, From: testClientA, ID: "f1"},
				xml.NewDecoder(strings.NewReader(testClientJoin)), host.RouteReplies(rec)))
			ctx, cancel := context.WithTimeout(context.Background(), testWait)
			defer cancel()
			require.NoError(t, h.Shutdown(ctx))
			require.Zero(t, h.Pending())
			d := rec.Deliveries()
			require.Len(t, d, 1)
			requireError(t, parseTestStanza(t, d[0]), tc.typ, tc.cond)
			_, ver, err := store.Items(ctx, testUser)
			require.NoError(t, err)
			require.Zero(t, ver)
		})
	}
}

func TestNewJoinHandlerValidates(t *testing.T) {
	rec := hosttest.NewRecorder(nil)
	ok := JoinConfig{Exchanger: host.NewExchange(rec), Roster: newRoster(t, roster.NewMemStore(), host.NewMemSessions(), rec)}
	for _, tc := range []struct {
		name, want string
		edit       func(*JoinConfig)
	}{
		{"no exchanger", "JoinConfig.Exchanger is required", func(c *JoinConfig) { c.Exchanger = nil }},
		{"no roster", "JoinConfig.Roster is required", func(c *JoinConfig) { c.Roster = nil }},
		{"negative timeout", "must not be negative", func(c *JoinConfig) { c.Timeout = -1 }},
		{"negative bound", "must not be negative", func(c *JoinConfig) { c.MaxPending = -1 }},
		{"negative attempts", "must not be negative", func(c *JoinConfig) { c.StoreAttempts = -1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			h, err := NewJoinHandler(c)
			require.ErrorContains(t, err, tc.want)
			require.Nil(t, h)
		})
	}
	h, err := NewJoinHandler(ok)
	require.NoError(t, err)
	require.Equal(t, DefaultJoinTimeout, h.timeout)
	require.Equal(t, DefaultMaxPendingJoins, h.maxPending)
	require.Equal(t, DefaultStoreAttempts, h.storeAttempts)
}

// blockingStore holds every Put until release is closed, ignoring its
// context as a misbehaving store would.
type blockingStore struct {
	roster.Store
	entered chan struct{} // receives when a Put starts waiting
	release chan struct{}
}

func (s *blockingStore) Put(ctx context.Context, user jid.JID, item roster.Item) (uint64, error) {
	s.entered <- struct{}{}
	<-s.release
	return s.Store.Put(ctx, user, item)
}

// Requests queued behind a slow one are answered remote-server-timeout when
// their own time is up, without waiting for it, and are never sent.
func TestJoinQueuedTimeout(t *testing.T) {
	bs := &blockingStore{entered: make(chan struct{}, 1), release: make(chan struct{})}
	e := newJoinEnv(t, JoinConfig{Timeout: 100 * time.Millisecond},
		func(s roster.Store) roster.Store { bs.Store = s; return bs })
	ch := newMemberChannel(e, testChannel)
	e.join(testClientA, "q1", testChannel, testJoin)
	<-bs.entered // q1 has the channel's answer and waits for the roster
	e.join(testClientB, "q2", testChannel, testJoin)
	e.leave(testClientA, "q3", testChannel)
	requireError(t, e.awaitAnswer(testClientB, "q2"), stanza.Wait, stanza.RemoteServerTimeout)
	requireError(t, e.awaitAnswer(testClientA, "q3"), stanza.Wait, stanza.RemoteServerTimeout)
	require.Empty(t, e.answers(testClientA, "q1"), "q1 is still waiting for the roster")
	require.Len(t, e.rec.To(testChannel), 1, "queued requests that timed out are never sent")

	close(bs.release)
	require.Equal(t, stanza.ResultIQ, e.awaitAnswer(testClientA, "q1").IQ.Type)
	e.shutdown()
	_, member := ch.member(testUser)
	require.True(t, member)
	items, _ := e.items()
	require.Len(t, items, 1)
}
