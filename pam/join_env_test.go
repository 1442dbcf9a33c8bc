package pam

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
	"github.com/mixpam/mixpam/roster"
)

// The test harness: a JoinHandler wired to an in-process network made of a
// hosttest.Recorder (the router), a host.Exchange on it, MemSessions, a
// roster.Handler over a roster store, and fake channels that answer by
// calling Exchange.Receive.

var (
	testUser    = jid.MustParse("hag66@shakespeare.example")
	testClientA = jid.MustParse("hag66@shakespeare.example/UUID-a1j/7533")
	testClientB = jid.MustParse("hag66@shakespeare.example/UUID-b5b/0114")
	testOther   = jid.MustParse("hecate@shakespeare.example")
	testChannel = jid.MustParse("coven@mix.shakespeare.example")
)

// testWait bounds every wait in the tests: a test that would hang fails.
const testWait = 10 * time.Second

// joinEnv is one test network.
type joinEnv struct {
	t        testing.TB
	rec      *hosttest.Recorder
	ex       *host.Exchange
	sessions *host.MemSessions
	mem      *roster.MemStore
	roster   *roster.Handler
	h        *JoinHandler

	mu       sync.Mutex
	channels map[string]func(testStanza) // channel bare JID → behaviour
}

// testStanza is a delivered IQ, parsed.
type testStanza struct {
	To      jid.JID
	IQ      stanza.IQ
	Payload string // children, serialised as host.Response does
}

// newJoinEnv builds a network with the user's two clients online (A asked
// for roster annotation, B did not). store, if not nil, wraps the MemStore
// under the roster.Handler; cfg.Roster, if set, is used instead of that
// Handler.
// At cleanup it shuts the handler down and checks that nothing is pending.
func newJoinEnv(t testing.TB, cfg JoinConfig, store func(roster.Store) roster.Store) *joinEnv {
	t.Helper()
	e := &joinEnv{t: t, channels: make(map[string]func(testStanza))}
	e.rec = hosttest.NewRecorder(e.forward)
	e.ex = host.NewExchange(e.rec)
	e.sessions = host.NewMemSessions()
	e.sessions.Add(host.Resource{JID: testClientA, Interested: true, MIXCapable: true, Annotate: true, Available: true})
	e.sessions.Add(host.Resource{JID: testClientB, Interested: true, MIXCapable: true, Available: true})
	e.mem = roster.NewMemStore()
	var s roster.Store = e.mem
	if store != nil {
		s = store(e.mem)
	}
	e.roster = newRoster(t, s, e.sessions, e.rec)
	cfg.Exchanger = e.ex
	if cfg.Roster == nil {
		cfg.Roster = e.roster
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = testWait
	}
	h, err := NewJoinHandler(cfg)
	require.NoError(t, err)
	e.h = h
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testWait)
		defer cancel()
		require.NoError(t, e.h.Shutdown(ctx), "requests left running")
		require.Zero(t, e.h.Pending(), "requests left pending")
		require.Zero(t, e.ex.Pending(), "exchanges left pending")
	})
	return e
}

// forward hands deliveries to channels to their behaviour.
func (e *joinEnv) forward(_ context.Context, d hosttest.Delivery) error {
	e.mu.Lock()
	behave := e.channels[d.To.Bare().String()]
	e.mu.Unlock()
	if behave != nil {
		behave(parseTestStanza(e.t, d))
	}
	return nil
}

// setChannel sets how the channel at j answers; nil makes it silent.
func (e *joinEnv) setChannel(j jid.JID, behave func(testStanza)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if behave == nil {
		delete(e.channels, j.String())
		return
	}
	e.channels[j.String()] = behave
}

func parseTestStanza(t testing.TB, d hosttest.Delivery) testStanza {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(d.Stanza))
	tok, err := dec.Token()
	require.NoError(t, err)
	start, ok := tok.(xml.StartElement)
	require.True(t, ok, "delivery does not start with an element: %s", d.Stanza)
	iq, err := stanza.NewIQ(start)
	require.NoError(t, err)
	payload, err := xmlenc.Marshal(xmlstream.Inner(dec), ns.Client)
	require.NoError(t, err, "delivery is not well-formed: %s", d.Stanza)
	return testStanza{To: d.To, IQ: iq, Payload: string(payload)}
}

// serve hands the handler an IQ from client as the host would.
func (e *joinEnv) serve(client jid.JID, typ stanza.IQType, to, id, payload string) error {
	e.t.Helper()
	iq := stanza.IQ{Type: typ, From: client, ID: id}
	if to != "" {
		iq.To = jid.MustParse(to)
	}
	return e.h.ServeIQ(context.Background(), iq, xml.NewDecoder(strings.NewReader(payload)), host.RouteReplies(e.rec))
}

// join sends a client-join for channel with the given <join/>.
func (e *joinEnv) join(client jid.JID, id string, channel jid.JID, inner string) {
	e.t.Helper()
	require.NoError(e.t, e.serve(client, stanza.SetIQ, client.Bare().String(), id,
		`<client-join xmlns='urn:xmpp:mix:pam:2' channel='`+channel.String()+`'>`+inner+`</client-join>`))
}

// leave sends a client-leave for channel.
func (e *joinEnv) leave(client jid.JID, id string, channel jid.JID) {
	e.t.Helper()
	require.NoError(e.t, e.serve(client, stanza.SetIQ, client.Bare().String(), id,
		`<client-leave xmlns='urn:xmpp:mix:pam:2' channel='`+channel.String()+`'><leave xmlns='urn:xmpp:mix:core:1'/></client-leave>`))
}

// answer offers the exchange an answer as if it came in from the network
// and reports whether the exchange took it.
func (e *joinEnv) answer(typ stanza.IQType, from, to jid.JID, id, payload string) bool {
	e.t.Helper()
	var r xml.TokenReader
	if payload != "" {
		r = xml.NewDecoder(strings.NewReader(payload))
	}
	took, err := e.ex.Receive(stanza.IQ{Type: typ, From: from, To: to, ID: id}, r)
	require.NoError(e.t, err)
	return took
}

// reply answers a request the channel received.
func (e *joinEnv) reply(req testStanza, typ stanza.IQType, payload string) {
	e.t.Helper()
	require.True(e.t, e.answer(typ, req.IQ.To, req.IQ.From, req.IQ.ID, payload), "answer not taken")
}

// awaitN waits until the deliveries to j that match number at least n,
// and returns them.
func (e *joinEnv) awaitN(j jid.JID, n int, match func(testStanza) bool) []testStanza {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	for {
		all := e.rec.Deliveries()
		var got []testStanza
		for _, d := range all {
			if d.To.String() != j.String() {
				continue
			}
			if s := parseTestStanza(e.t, d); match(s) {
				got = append(got, s)
			}
		}
		if len(got) >= n {
			return got
		}
		_, err := e.rec.Wait(ctx, len(all)+1)
		require.NoError(e.t, err, "waiting for %d deliveries to %s, have %d", n, j, len(got))
	}
}

// awaitAnswer waits for the answer to the client's IQ id and returns it.
func (e *joinEnv) awaitAnswer(client jid.JID, id string) testStanza {
	e.t.Helper()
	return e.awaitN(client, 1, isAnswer(id))[0]
}

// awaitRequests waits until the channel has received n requests.
func (e *joinEnv) awaitRequests(channel jid.JID, n int) []testStanza {
	e.t.Helper()
	return e.awaitN(channel, n, func(s testStanza) bool { return s.IQ.Type == stanza.SetIQ })
}

// answers returns every answer (result or error) to the client's IQ id so
// far.
func (e *joinEnv) answers(client jid.JID, id string) []testStanza {
	e.t.Helper()
	var got []testStanza
	for _, d := range e.rec.To(client) {
		if s := parseTestStanza(e.t, d); isAnswer(id)(s) {
			got = append(got, s)
		}
	}
	return got
}

// pushes returns the roster pushes delivered to client so far.
func (e *joinEnv) pushes(client jid.JID) []testStanza {
	e.t.Helper()
	var got []testStanza
	for _, d := range e.rec.To(client) {
		if s := parseTestStanza(e.t, d); s.IQ.Type == stanza.SetIQ && strings.Contains(s.Payload, ns.Roster) {
			got = append(got, s)
		}
	}
	return got
}

// shutdown waits until the handler has finished everything.
func (e *joinEnv) shutdown() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	require.NoError(e.t, e.h.Shutdown(ctx))
	require.Zero(e.t, e.h.Pending())
}

// items returns the user's roster and version.
func (e *joinEnv) items() ([]roster.Item, uint64) {
	e.t.Helper()
	items, ver, err := e.mem.Items(context.Background(), testUser)
	require.NoError(e.t, err)
	return items, ver
}

func isAnswer(id string) func(testStanza) bool {
	return func(s testStanza) bool {
		return s.IQ.ID == id && (s.IQ.Type == stanza.ResultIQ || s.IQ.Type == stanza.ErrorIQ)
	}
}

// requireError checks that s is an IQ error from the user's bare JID with
// the given type and condition and a text, and returns the error.
func requireError(t testing.TB, s testStanza, typ stanza.ErrorType, cond stanza.Condition) stanza.Error {
	t.Helper()
	require.Equal(t, stanza.ErrorIQ, s.IQ.Type, "payload: %s", s.Payload)
	se, err := stanza.UnmarshalError(xml.NewDecoder(strings.NewReader(s.Payload)))
	require.NoError(t, err)
	require.Equal(t, typ, se.Type, "payload: %s", s.Payload)
	require.Equal(t, cond, se.Condition, "payload: %s", s.Payload)
	require.NotEmpty(t, se.Text[""], "no human-readable text: %s", s.Payload)
	return se
}

// memberChannel is a fake channel that keeps its participant list: a join
// makes the sender a participant with a stable id and answers with the
// request's <join/> plus that id (XEP-0369 §"Joining a Channel"); a leave
// of a participant removes it, of anyone else is item-not-found.
type memberChannel struct {
	e       *joinEnv
	jid     jid.JID
	mu      sync.Mutex
	members map[string]string // bare JID → participant id
	next    int
}

func newMemberChannel(e *joinEnv, j jid.JID) *memberChannel {
	c := &memberChannel{e: e, jid: j, members: make(map[string]string)}
	e.setChannel(j, c.handle)
	return c
}

func (c *memberChannel) handle(req testStanza) {
	c.mu.Lock()
	user := req.IQ.From.String()
	var typ stanza.IQType
	var payload string
	switch {
	case strings.HasPrefix(req.Payload, `<join xmlns="urn:xmpp:mix:core:1"`):
		pid, ok := c.members[user]
		if !ok {
			c.next++
			pid = fmt.Sprintf("p%d", c.next)
			c.members[user] = pid
		}
		typ, payload = stanza.ResultIQ, strings.Replace(req.Payload,
			`<join xmlns="urn:xmpp:mix:core:1"`, `<join xmlns="urn:xmpp:mix:core:1" id="`+pid+`"`, 1)
	case strings.HasPrefix(req.Payload, `<leave xmlns="urn:xmpp:mix:core:1"`):
		if _, ok := c.members[user]; ok {
			delete(c.members, user)
			typ, payload = stanza.ResultIQ, `<leave xmlns="urn:xmpp:mix:core:1"/>`
		} else {
			typ, payload = stanza.ErrorIQ, `<error type="cancel"><item-not-found xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>`
		}
	default:
		typ, payload = stanza.ErrorIQ, `<error type="cancel"><bad-request xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>`
	}
	c.mu.Unlock()
	c.e.reply(req, typ, payload)
}

func (c *memberChannel) member(user jid.JID) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pid, ok := c.members[user.String()]
	return pid, ok
}

// canonicalXML renders raw as a list of tokens with namespaces resolved and
// namespace declarations dropped, so that two serialisations of the same
// XML compare equal.
func canonicalXML(t testing.TB, raw string) []string {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(raw))
	var out []string
	for {
		tok, err := dec.Token()
		if err != nil {
			require.ErrorIs(t, err, io.EOF)
			return out
		}
		switch tt := tok.(type) {
		case xml.StartElement:
			s := "<{" + tt.Name.Space + "}" + tt.Name.Local
			for _, a := range tt.Attr {
				if a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns" {
					continue
				}
				s += " {" + a.Name.Space + "}" + a.Name.Local + "=" + fmt.Sprintf("%q", a.Value)
			}
			out = append(out, s+">")
		case xml.EndElement:
			out = append(out, "</{"+tt.Name.Space+"}"+tt.Name.Local+">")
		case xml.CharData:
			out = append(out, fmt.Sprintf("%q", string(tt)))
		}
	}
}

// newRoster is a roster.Handler over store, failing tb if NewHandler
// refuses.
func newRoster(tb testing.TB, store roster.Store, sessions roster.Sessions, router host.Router) *roster.Handler {
	tb.Helper()
	h, err := roster.NewHandler(roster.HandlerConfig{Store: store, Sessions: sessions, Router: router})
	if err != nil {
		tb.Fatal(err)
	}
	return h
}
