package blocking_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
)

var (
	balcony = jid.MustParse("juliet@capulet.lit/balcony")
	chamber = jid.MustParse("juliet@capulet.lit/chamber")
	orchard = jid.MustParse("romeo@montague.net/orchard")
	romeo   = jid.MustParse("romeo@montague.net")
)

// env is a Handler over in-memory seams. Juliet is online with two
// resources and has blocked Romeo; Romeo is online too.
type env struct {
	store    *blocking.MemStore
	sessions *host.MemSessions
	router   *hosttest.Recorder
	handler  *blocking.Handler
	reply    host.ReplyFunc // answers through the router the handler pushes through
}

func newEnv(t *testing.T, store blocking.Store, router host.Router, opts ...func(*blocking.HandlerConfig)) env {
	t.Helper()
	e := env{store: blocking.NewMemStore(), sessions: host.NewMemSessions(), router: hosttest.NewRecorder(nil)}
	if store == nil {
		store = e.store
	}
	if router == nil {
		router = e.router
	}
	for _, r := range []jid.JID{balcony, chamber, orchard} {
		e.sessions.Add(host.Resource{JID: r, MIXCapable: true, Available: true, BlocklistRequested: true})
	}
	_, err := e.store.Block(context.Background(), juliet, romeo)
	require.NoError(t, err)
	e.handler = newHandler(t, store, e.sessions, router, opts...)
	e.reply = host.RouteReplies(router)
	return e
}

// newHandler builds a Handler on the given seams, failing t if NewHandler
// refuses.
func newHandler(t *testing.T, store blocking.Store, sessions blocking.Sessions, router host.Router, opts ...func(*blocking.HandlerConfig)) *blocking.Handler {
	t.Helper()
	c := blocking.HandlerConfig{Store: store, Sessions: sessions, Router: router}
	for _, o := range opts {
		o(&c)
	}
	h, err := blocking.NewHandler(c)
	require.NoError(t, err)
	return h
}

func withLogger(l *slog.Logger) func(*blocking.HandlerConfig) {
	return func(c *blocking.HandlerConfig) { c.Logger = l }
}

func withTimeout(d time.Duration) func(*blocking.HandlerConfig) {
	return func(c *blocking.HandlerConfig) { c.Timeout = d }
}

func withPresence(p blocking.PresenceUpdater) func(*blocking.HandlerConfig) {
	return func(c *blocking.HandlerConfig) { c.Presence = p }
}

func withLimits(l blocking.Limits) func(*blocking.HandlerConfig) {
	return func(c *blocking.HandlerConfig) { c.Limits = l }
}

// do hands the IQ in raw to the handler, from the test's goroutine, and
// returns its answer serialised, or "" when nothing was routed. It checks
// the order the Handler promises: every stanza routed is a push but the
// last, which is the answer, routed to the sender.
func (e env) do(t *testing.T, raw string) string {
	t.Helper()
	before := len(e.router.Deliveries())
	iq, err := e.handle(raw)
	require.NoError(t, err)
	routed := e.router.Deliveries()[before:]
	if len(routed) == 0 {
		return ""
	}
	answer := routed[len(routed)-1]
	for _, d := range routed[:len(routed)-1] {
		require.True(t, isPush(d), "only pushes come before the answer: %s", d.Stanza)
	}
	require.False(t, isPush(answer), "the answer comes last: %s", answer.Stanza)
	require.Equal(t, iq.From.String(), answer.To.String(), "the answer goes to the sender")
	return string(answer.Stanza)
}

// handle hands the IQ in raw to the handler and returns the IQ's header.
// Other goroutines than the test's use it.
func (e env) handle(raw string) (stanza.IQ, error) {
	d := xml.NewDecoder(strings.NewReader(raw))
	tok, err := d.Token()
	if err != nil {
		return stanza.IQ{}, err
	}
	start, ok := tok.(xml.StartElement)
	if !ok {
		return stanza.IQ{}, fmt.Errorf("not an element: %s", raw)
	}
	iq, err := stanza.NewIQ(start)
	if err != nil {
		return stanza.IQ{}, err
	}
	return iq, e.handler.ServeIQ(context.Background(), iq, xmlstream.Inner(d), e.reply)
}

// isPush reports whether d is a push, an IQ set, rather than an answer.
func isPush(d hosttest.Delivery) bool {
	return bytes.HasPrefix(d.Stanza, []byte(`<iq type="set"`))
}

func (e env) items(t *testing.T) []string {
	t.Helper()
	items, err := e.store.Items(context.Background(), juliet)
	require.NoError(t, err)
	var out []string
	for _, it := range items {
		out = append(out, it.String())
	}
	return out
}

var pushID = regexp.MustCompile(` id="[^"]+"`)

// pushes returns the pushes routed so far, with their ids replaced by PUSH.
func (e env) pushes() []string {
	var out []string
	for _, d := range e.router.Deliveries() {
		if isPush(d) {
			out = append(out, d.To.String()+" "+pushID.ReplaceAllString(string(d.Stanza), ` id="PUSH"`))
		}
	}
	return out
}

// stanzaError decodes the <error/> of an error reply.
func stanzaError(t *testing.T, reply string) stanza.Error {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(reply))
	for {
		tok, err := d.Token()
		require.NoError(t, err, "no <error/> in %s", reply)
		if start, ok := tok.(xml.StartElement); ok && start.Name.Local == "error" {
			se, err := stanza.UnmarshalError(xmlstream.MultiReader(xmlstream.Token(start), xmlstream.InnerElement(d)))
			require.NoError(t, err)
			return se
		}
	}
}

func TestHandlerCommands(t *testing.T) {
	e := newEnv(t, nil, nil)
	const (
		pushBlock      = `<iq type="set" to="juliet@capulet.lit/%s" from="juliet@capulet.lit" id="PUSH"><block xmlns="urn:xmpp:blocking"><item jid="iago@shakespeare.lit"></item><item jid="coven@mix.example"></item></block></iq>`
		pushUnblock    = `<iq type="set" to="juliet@capulet.lit/%s" from="juliet@capulet.lit" id="PUSH"><unblock xmlns="urn:xmpp:blocking"><item jid="iago@shakespeare.lit"></item></unblock></iq>`
		pushUnblockAll = `<iq type="set" to="juliet@capulet.lit/%s" from="juliet@capulet.lit" id="PUSH"><unblock xmlns="urn:xmpp:blocking"></unblock></iq>`
	)
	both := func(format string) []string {
		return []string{
			"juliet@capulet.lit/balcony " + strings.ReplaceAll(format, "%s", "balcony"),
			"juliet@capulet.lit/chamber " + strings.ReplaceAll(format, "%s", "chamber"),
		}
	}
	steps := []struct {
		name   string
		iq     string
		reply  string
		items  []string
		pushes []string
	}{
		{
			name:  "get blocklist",
			iq:    `<iq from='juliet@capulet.lit/balcony' type='get' id='blocklist1'><blocklist xmlns='urn:xmpp:blocking'/></iq>`,
			reply: `<iq type="result" to="juliet@capulet.lit/balcony" from="juliet@capulet.lit" id="blocklist1"><blocklist xmlns="urn:xmpp:blocking"><item jid="romeo@montague.net"></item></blocklist></iq>`,
			items: []string{"romeo@montague.net"},
		},
		{
			name:   "block two, addressed to the bare JID",
			iq:     `<iq from='juliet@capulet.lit/balcony' to='juliet@capulet.lit' type='set' id='block1'><block xmlns='urn:xmpp:blocking'><item jid='iago@shakespeare.lit'/><item jid='Coven@mix.example'/></block></iq>`,
			reply:  `<iq type="result" to="juliet@capulet.lit/balcony" from="juliet@capulet.lit" id="block1"></iq>`,
			items:  []string{"romeo@montague.net", "iago@shakespeare.lit", "coven@mix.example"},
			pushes: both(pushBlock),
		},
		{
			name:  "block again changes nothing and pushes nothing",
			iq:    `<iq from='juliet@capulet.lit/chamber' to='capulet.lit' type='set' id='block2'><block xmlns='urn:xmpp:blocking'><item jid='iago@shakespeare.lit'/></block></iq>`,
			reply: `<iq type="result" to="juliet@capulet.lit/chamber" from="capulet.lit" id="block2"></iq>`,
			items: []string{"romeo@montague.net", "iago@shakespeare.lit", "coven@mix.example"},
		},
		{
			name:   "unblock one",
			iq:     `<iq from='juliet@capulet.lit/chamber' type='set' id='unblock1'><unblock xmlns='urn:xmpp:blocking'><item jid='iago@shakespeare.lit'/><item jid='nobody@shakespeare.lit'/></unblock></iq>`,
			reply:  `<iq type="result" to="juliet@capulet.lit/chamber" from="juliet@capulet.lit" id="unblock1"></iq>`,
			items:  []string{"romeo@montague.net", "coven@mix.example"},
			pushes: both(pushUnblock),
		},
		{
			name:  "unblock what is not blocked pushes nothing",
			iq:    `<iq from='juliet@capulet.lit/chamber' type='set' id='unblock2'><unblock xmlns='urn:xmpp:blocking'><item jid='nobody@shakespeare.lit'/></unblock></iq>`,
			reply: `<iq type="result" to="juliet@capulet.lit/chamber" from="juliet@capulet.lit" id="unblock2"></iq>`,
			items: []string{"romeo@montague.net", "coven@mix.example"},
		},
		{
			name:   "unblock all",
			iq:     `<iq from='juliet@capulet.lit/balcony' type='set' id='unblock3'><unblock xmlns='urn:xmpp:blocking'/></iq>`,
			reply:  `<iq type="result" to="juliet@capulet.lit/balcony" from="juliet@capulet.lit" id="unblock3"></iq>`,
			pushes: both(pushUnblockAll),
		},
		{
			name:  "unblock all of nothing pushes nothing",
			iq:    `<iq from='juliet@capulet.lit/balcony' type='set' id='unblock4'><unblock xmlns='urn:xmpp:blocking'/></iq>`,
			reply: `<iq type="result" to="juliet@capulet.lit/balcony" from="juliet@capulet.lit" id="unblock4"></iq>`,
		},
		{
			name:  "get empty blocklist",
			iq:    `<iq from='juliet@capulet.lit/balcony' type='get' id='blocklist2'><blocklist xmlns='urn:xmpp:blocking'/></iq>`,
			reply: `<iq type="result" to="juliet@capulet.lit/balcony" from="juliet@capulet.lit" id="blocklist2"><blocklist xmlns="urn:xmpp:blocking"></blocklist></iq>`,
		},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			e.router.Reset()
			require.Equal(t, s.reply, e.do(t, s.iq))
			require.Equal(t, s.items, e.items(t))
			require.Equal(t, s.pushes, e.pushes())
		})
	}
}

// Pushes go only to the resources that requested the blocklist (XEP-0191
// §3.3–3.5); a blocklist get is that request.
func TestHandlerPushesOnlyToRequesters(t *testing.T) {
	e := newEnv(t, nil, nil)
	for _, r := range []jid.JID{balcony, chamber} {
		e.sessions.Add(host.Resource{JID: r, MIXCapable: true, Available: true})
	}
	block := `<iq type="set" id="b%d" from="juliet@capulet.lit/chamber"><block xmlns="urn:xmpp:blocking"><item jid="%s"/></block></iq>`
	e.do(t, fmt.Sprintf(block, 1, "iago@shakespeare.lit"))
	require.Empty(t, e.pushes(), "pushes before any resource requested the blocklist")

	e.do(t, `<iq type="get" id="g1" from="juliet@capulet.lit/balcony"><blocklist xmlns="urn:xmpp:blocking"/></iq>`)
	r, ok := e.sessions.Resource(balcony)
	require.True(t, ok)
	require.True(t, r.BlocklistRequested, "the get is recorded on the session")
	e.do(t, fmt.Sprintf(block, 2, "tybalt@capulet.lit"))
	require.Equal(t, []string{
		`juliet@capulet.lit/balcony <iq type="set" to="juliet@capulet.lit/balcony" from="juliet@capulet.lit" id="PUSH"><block xmlns="urn:xmpp:blocking"><item jid="tybalt@capulet.lit"></item></block></iq>`,
	}, e.pushes(), "only the resource that requested the blocklist gets the push, not the requester of the block")
}

func TestHandlerRefuses(t *testing.T) {
	const from = `from='juliet@capulet.lit/balcony' `
	cases := []struct {
		name      string
		iq        string
		condition stanza.Condition
	}{
		{"block without items", `<iq ` + from + `type='set' id='x'><block xmlns='urn:xmpp:blocking'/></iq>`, stanza.BadRequest},
		{"block with only foreign children", `<iq ` + from + `type='set' id='x'><block xmlns='urn:xmpp:blocking'><item xmlns='urn:other' jid='a@b'/></block></iq>`, stanza.BadRequest},
		{"invalid JID after a valid one", `<iq ` + from + `type='set' id='x'><block xmlns='urn:xmpp:blocking'><item jid='iago@shakespeare.lit'/><item jid='a@b@c'/></block></iq>`, stanza.JIDMalformed},
		{"empty JID", `<iq ` + from + `type='set' id='x'><block xmlns='urn:xmpp:blocking'><item jid=''/></block></iq>`, stanza.JIDMalformed},
		{"empty resource", `<iq ` + from + `type='set' id='x'><unblock xmlns='urn:xmpp:blocking'><item jid='romeo@montague.net'/><item jid='x@y/'/></unblock></iq>`, stanza.JIDMalformed},
		{"localpart too long", `<iq ` + from + `type='set' id='x'><block xmlns='urn:xmpp:blocking'><item jid='` + strings.Repeat("a", 1024) + `@b'/></block></iq>`, stanza.JIDMalformed},
		{"item without jid", `<iq ` + from + `type='set' id='x'><unblock xmlns='urn:xmpp:blocking'><item/></unblock></iq>`, stanza.BadRequest},
		{"jid attribute in another namespace", `<iq ` + from + `type='set' id='x'><block xmlns='urn:xmpp:blocking' xmlns:o='urn:other'><item o:jid='a@b'/></block></iq>`, stanza.BadRequest},
		{"two payloads", `<iq ` + from + `type='set' id='x'><block xmlns='urn:xmpp:blocking'><item jid='a@b'/></block><unblock xmlns='urn:xmpp:blocking'/></iq>`, stanza.BadRequest},
		{"no payload", `<iq ` + from + `type='set' id='x'></iq>`, stanza.BadRequest},
		{"block in a get", `<iq ` + from + `type='get' id='x'><block xmlns='urn:xmpp:blocking'><item jid='a@b'/></block></iq>`, stanza.BadRequest},
		{"unblock in a get", `<iq ` + from + `type='get' id='x'><unblock xmlns='urn:xmpp:blocking'/></iq>`, stanza.BadRequest},
		{"blocklist in a set", `<iq ` + from + `type='set' id='x'><blocklist xmlns='urn:xmpp:blocking'/></iq>`, stanza.BadRequest},
		{"unknown command", `<iq ` + from + `type='set' id='x'><sideways xmlns='urn:xmpp:blocking'/></iq>`, stanza.FeatureNotImplemented},
		{"other namespace", `<iq ` + from + `type='get' id='x'><query xmlns='jabber:iq:roster'/></iq>`, stanza.ServiceUnavailable},
		{"malformed XML", `<iq ` + from + `type='set' id='x'><block xmlns='urn:xmpp:blocking'><item jid='a@b'></block></iq>`, stanza.BadRequest},
		{"truncated XML", `<iq ` + from + `type='set' id='x'><block xmlns='urn:xmpp:blocking'><item jid='a@b'/>`, stanza.BadRequest},
		{"another user's blocklist", `<iq ` + from + `to='nurse@capulet.lit' type='set' id='x'><block xmlns='urn:xmpp:blocking'><item jid='a@b'/></block></iq>`, stanza.Forbidden},
		{"own full JID is a client", `<iq ` + from + `to='juliet@capulet.lit/chamber' type='set' id='x'><unblock xmlns='urn:xmpp:blocking'/></iq>`, stanza.Forbidden},
		{"no user", `<iq from='capulet.lit' type='set' id='x'><unblock xmlns='urn:xmpp:blocking'/></iq>`, stanza.Forbidden},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, nil, nil)
			reply := e.do(t, c.iq)
			require.Contains(t, reply, `<iq type="error" `)
			require.Contains(t, reply, ` id="x"`)
			se := stanzaError(t, reply)
			require.Equal(t, c.condition, se.Condition, reply)
			require.NotEmpty(t, se.Text[""], "a human-readable text")
			require.Equal(t, []string{"romeo@montague.net"}, e.items(t), "state unchanged")
			require.Empty(t, e.pushes())
		})
	}
}

// TestHandlerDrainsRefused checks that a refused command is read to its
// end, leaving the host's decoder at the next stanza.
func TestHandlerDrainsRefused(t *testing.T) {
	e := newEnv(t, nil, nil)
	d := xml.NewDecoder(strings.NewReader(`<iq type='get' id='r'><query xmlns='jabber:iq:roster'><item jid='romeo@montague.net'/></query></iq><message/>`))
	tok, err := d.Token()
	require.NoError(t, err)
	iq, err := stanza.NewIQ(tok.(xml.StartElement))
	require.NoError(t, err)
	iq.From = balcony
	require.NoError(t, e.handler.ServeIQ(context.Background(), iq, xmlstream.Inner(d), e.reply))
	require.Len(t, e.router.Deliveries(), 1, "answered")
	tok, err = d.Token()
	require.NoError(t, err)
	require.Equal(t, "message", tok.(xml.StartElement).Name.Local)
}

func TestHandlerNilPayload(t *testing.T) {
	e := newEnv(t, nil, nil)
	require.NoError(t, e.handler.ServeIQ(context.Background(), stanza.IQ{ID: "n", Type: stanza.SetIQ, From: balcony}, nil, e.reply))
	routed := e.router.Deliveries()
	require.Len(t, routed, 1)
	require.Equal(t, stanza.BadRequest, stanzaError(t, string(routed[0].Stanza)).Condition)
}

func TestHandlerIgnoresAnswers(t *testing.T) {
	e := newEnv(t, nil, nil)
	require.Empty(t, e.do(t, `<iq from='juliet@capulet.lit/balcony' type='result' id='push1'/>`))
	require.Empty(t, e.do(t, `<iq from='juliet@capulet.lit/balcony' type='error' id='push2'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`))
	require.Empty(t, e.router.Deliveries())
}

// TestHandlerNoSender checks that a command without from is left unread and
// unanswered, with an error for the host.
func TestHandlerNoSender(t *testing.T) {
	e := newEnv(t, nil, nil)
	_, err := e.handle(`<iq type='set' id='x'><unblock xmlns='urn:xmpp:blocking'/></iq>`)
	require.ErrorIs(t, err, host.ErrNoSender)
	require.Empty(t, e.router.Deliveries())
	require.Equal(t, []string{"romeo@montague.net"}, e.items(t), "state unchanged")
}

// TestHandlerRouteFails checks that a failure to deliver the answer is
// returned, and that the command took effect all the same.
func TestHandlerRouteFails(t *testing.T) {
	errGone := errors.New("session gone")
	router := hosttest.NewRecorder(func(_ context.Context, d hosttest.Delivery) error {
		if !isPush(d) {
			return errGone
		}
		return nil
	})
	e := newEnv(t, nil, router)
	e.router = router
	_, err := e.handle(`<iq from='juliet@capulet.lit/chamber' type='set' id='b'><block xmlns='urn:xmpp:blocking'><item jid='iago@shakespeare.lit'/></block></iq>`)
	require.ErrorIs(t, err, errGone)
	require.Equal(t, []string{"romeo@montague.net", "iago@shakespeare.lit"}, e.items(t))
	require.Len(t, e.pushes(), 2)
}

// A HandlerConfig without one of its required fields is refused with an
// error naming the field, not a Handler that panics on its first command.
func TestNewHandlerRefusesIncompleteConfig(t *testing.T) {
	full := blocking.HandlerConfig{Store: blocking.NewMemStore(), Sessions: host.NewMemSessions(), Router: hosttest.NewRecorder(nil)}
	for _, tc := range []struct {
		name, want string
		change     func(*blocking.HandlerConfig)
	}{
		{"no store", "HandlerConfig.Store is required", func(c *blocking.HandlerConfig) { c.Store = nil }},
		{"no sessions", "HandlerConfig.Sessions is required", func(c *blocking.HandlerConfig) { c.Sessions = nil }},
		{"no router", "HandlerConfig.Router is required", func(c *blocking.HandlerConfig) { c.Router = nil }},
		{"negative timeout", "HandlerConfig.Timeout must not be negative", func(c *blocking.HandlerConfig) { c.Timeout = -1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := full
			tc.change(&c)
			h, err := blocking.NewHandler(c)
			require.ErrorContains(t, err, tc.want)
			require.Nil(t, h)
		})
	}
	h, err := blocking.NewHandler(full)
	require.NoError(t, err)
	require.NotNil(t, h)
}

// failingStore fails every operation.
type failingStore struct{ blocking.Store }

var errStoreDown = errors.New("store down")

func (failingStore) Items(context.Context, jid.JID) ([]jid.JID, error) { return nil, errStoreDown }
func (failingStore) Block(context.Context, jid.JID, ...jid.JID) ([]jid.JID, error) {
	return nil, errStoreDown
}
func (failingStore) Unblock(context.Context, jid.JID, ...jid.JID) ([]jid.JID, error) {
	return nil, errStoreDown
}

func TestHandlerStoreFailure(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, failingStore{}, nil, withLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	for _, iq := range []string{
		`<iq from='juliet@capulet.lit/balcony' type='get' id='x'><blocklist xmlns='urn:xmpp:blocking'/></iq>`,
		`<iq from='juliet@capulet.lit/balcony' type='set' id='x'><block xmlns='urn:xmpp:blocking'><item jid='a@b'/></block></iq>`,
		`<iq from='juliet@capulet.lit/balcony' type='set' id='x'><unblock xmlns='urn:xmpp:blocking'/></iq>`,
	} {
		se := stanzaError(t, e.do(t, iq))
		require.Equal(t, stanza.InternalServerError, se.Condition)
		require.Equal(t, stanza.Wait, se.Type)
	}
	require.Empty(t, e.pushes())
	require.Equal(t, 3, strings.Count(logs.String(), "store down"), logs.String())
}

func TestHandlerPushFailure(t *testing.T) {
	var logs bytes.Buffer
	errGone := errors.New("session gone")
	router := hosttest.NewRecorder(func(_ context.Context, d hosttest.Delivery) error {
		if d.To.Equal(balcony) {
			return errGone
		}
		return nil
	})
	e := newEnv(t, nil, router, withLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	e.router = router
	reply := e.do(t, `<iq from='juliet@capulet.lit/chamber' type='set' id='b'><block xmlns='urn:xmpp:blocking'><item jid='iago@shakespeare.lit'/></block></iq>`)
	require.Equal(t, `<iq type="result" to="juliet@capulet.lit/chamber" from="juliet@capulet.lit" id="b"></iq>`, reply, "the block took effect")
	require.Equal(t, []string{"romeo@montague.net", "iago@shakespeare.lit"}, e.items(t))
	require.Len(t, e.pushes(), 2, "the other resource still got its push")
	require.Contains(t, logs.String(), "session gone")
}

func TestHandlerFeatures(t *testing.T) {
	e := newEnv(t, nil, nil)
	var features []string
	collect := func(f info.Feature) error {
		features = append(features, f.Var)
		return nil
	}
	require.NoError(t, e.handler.ForFeatures("", collect))
	require.NoError(t, e.handler.ForFeatures("some-node", collect))
	require.Equal(t, []string{blocking.NS}, features)
}

// TestHandlerSerialisesChanges checks that a user's changes and their
// pushes do not interleave, so that the last push each resource gets agrees
// with the blocklist. Command A (block) is held in its first push while
// command B (unblock) runs: B must wait for A (and here gives up when its
// time is out) instead of slipping its change and pushes in between.
func TestHandlerSerialisesChanges(t *testing.T) {
	aPushing := make(chan struct{})
	bDone := make(chan struct{})
	first := true
	var mu sync.Mutex
	router := hosttest.NewRecorder(func(context.Context, hosttest.Delivery) error {
		mu.Lock()
		hold := first
		first = false
		mu.Unlock()
		if hold {
			// Held past A's own timeout, so that A certainly holds the
			// lock until B gave up.
			close(aPushing)
			<-bDone
		}
		return nil
	})
	e := newEnv(t, nil, router, withTimeout(200*time.Millisecond))
	e.router = router

	aDone := make(chan error)
	go func() {
		_, err := e.handle(`<iq from='juliet@capulet.lit/balcony' type='set' id='a'><block xmlns='urn:xmpp:blocking'><item jid='iago@shakespeare.lit'/></block></iq>`)
		aDone <- err
	}()
	<-aPushing
	answer := e.do(t, `<iq from='juliet@capulet.lit/chamber' type='set' id='b'><unblock xmlns='urn:xmpp:blocking'><item jid='iago@shakespeare.lit'/></unblock></iq>`)
	close(bDone)
	require.NoError(t, <-aDone)
	require.Equal(t, stanza.InternalServerError, stanzaError(t, answer).Condition, "B gave up: %s", answer)

	blocked := slices.Contains(e.items(t), "iago@shakespeare.lit")
	last := map[string]string{}
	for _, p := range e.pushes() {
		to, push, _ := strings.Cut(p, " ")
		last[to] = push
	}
	require.Len(t, last, 2)
	for to, push := range last {
		require.Equal(t, blocked, strings.Contains(push, "<block "), "blocked %v, last push to %s: %s", blocked, to, push)
	}
}

// TestHandlerRetrievalWaitsForChanges checks that a blocklist retrieval
// waits for the user's change in progress, so that its answer never predates
// a push the client already got: the retrieval, held up by a change stuck in
// its first push, runs out of time instead of answering.
func TestHandlerRetrievalWaitsForChanges(t *testing.T) {
	pushing := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	router := hosttest.NewRecorder(func(_ context.Context, d hosttest.Delivery) error {
		if !isPush(d) {
			return nil
		}
		held := false
		once.Do(func() { held = true })
		if held {
			// Held past the change's own timeout, so that its lock is
			// certainly held until the retrieval gave up.
			close(pushing)
			<-release
		}
		return nil
	})
	e := newEnv(t, nil, router, withTimeout(100*time.Millisecond))
	e.router = router

	changed := make(chan error)
	go func() {
		_, err := e.handle(`<iq from='juliet@capulet.lit/balcony' type='set' id='a'><block xmlns='urn:xmpp:blocking'><item jid='iago@shakespeare.lit'/></block></iq>`)
		changed <- err
	}()
	<-pushing
	answer := e.do(t, `<iq from='juliet@capulet.lit/chamber' type='get' id='g'><blocklist xmlns='urn:xmpp:blocking'/></iq>`)
	close(release)
	require.NoError(t, <-changed)
	require.Equal(t, stanza.InternalServerError, stanzaError(t, answer).Condition, answer)
}
