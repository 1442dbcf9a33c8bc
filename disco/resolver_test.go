package disco_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/disco"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
)

const (
	clientNode = "https://example.org/client"
	mixBody    = `<identity category='client' type='pc' name='MIX client'/>` +
		`<feature var='http://jabber.org/protocol/disco#info'/><feature var='urn:xmpp:mix:core:1'/>`
	plainBody = `<identity category='client' type='pc' name='Plain client'/>` +
		`<feature var='http://jabber.org/protocol/disco#info'/>`
)

// capsFor returns the caps a client answering body advertises honestly.
func capsFor(t testing.TB, body string) disco.Caps {
	t.Helper()
	ver, err := disco.VerificationString(mustParseInfo(t, `<query xmlns='http://jabber.org/protocol/disco#info'>`+body+`</query>`), "sha-1")
	require.NoError(t, err)
	return disco.Caps{Hash: "sha-1", Node: clientNode, Ver: ver}
}

// fakeClient is how one client answers disco#info queries.
type fakeClient struct {
	body      string        // children of the answer's <query/>
	otherNode bool          // answer for another node than asked
	fail      bool          // answer with an error IQ
	hold      chan struct{} // answer only once this is closed
}

// request is a query a fakeNet received.
type request struct {
	iq   stanza.IQ
	node string
}

// fakeNet is a host.Exchanger in front of fake clients.
type fakeNet struct {
	mu       sync.Mutex
	clients  map[string]fakeClient // by full JID
	requests []request
	arrived  chan string // receives the client's JID of every request, if not nil
}

func newFakeNet(clients map[string]fakeClient) *fakeNet {
	return &fakeNet{clients: clients}
}

func (n *fakeNet) Exchange(ctx context.Context, req stanza.IQ, payload xml.TokenReader) (host.Response, error) {
	q, err := disco.ParseInfo(payload)
	if err != nil {
		return host.Response{}, err
	}
	n.mu.Lock()
	n.requests = append(n.requests, request{iq: req, node: q.Node})
	c, ok := n.clients[req.To.String()]
	arrived := n.arrived
	n.mu.Unlock()
	if arrived != nil {
		arrived <- req.To.String()
	}
	if c.hold != nil {
		select {
		case <-c.hold:
		case <-ctx.Done():
			return host.Response{}, ctx.Err()
		}
	}
	resp := stanza.IQ{ID: req.ID, From: req.To, To: req.From, Type: stanza.ResultIQ}
	if !ok || c.fail {
		resp.Type = stanza.ErrorIQ
		return host.Response{IQ: resp, Payload: []byte(`<error type="cancel"><service-unavailable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>`)}, nil
	}
	node := q.Node
	if c.otherNode {
		node = "https://example.org/other#x"
	}
	answer := `<query xmlns="http://jabber.org/protocol/disco#info"`
	if node != "" {
		answer += ` node="` + node + `"`
	}
	answer += `>` + c.body + `</query>`
	return host.Response{IQ: resp, Payload: []byte(answer)}, nil
}

// newResolver returns a Resolver for cfg, failing the test on an error.
func newResolver(t testing.TB, cfg disco.ResolverConfig) *disco.Resolver {
	t.Helper()
	r, err := disco.NewResolver(cfg)
	require.NoError(t, err)
	return r
}

func (n *fakeNet) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.requests)
}

func (n *fakeNet) last() request {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.requests[len(n.requests)-1]
}

// logSignal is a slog.Handler that signals every record with a given message.
type logSignal struct {
	msg string
	ch  chan struct{}
}

func (h logSignal) Enabled(context.Context, slog.Level) bool { return true }
func (h logSignal) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h logSignal) WithGroup(string) slog.Handler            { return h }
func (h logSignal) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.ch <- struct{}{}
	}
	return nil
}

func TestResolverCacheHitAvoidsQuery(t *testing.T) {
	n := newFakeNet(map[string]fakeClient{
		"juliet@capulet.lit/balcony": {body: mixBody},
		"juliet@capulet.lit/garden":  {body: mixBody},
		"romeo@montague.lit/orchard": {body: plainBody},
	})
	r := newResolver(t, disco.ResolverConfig{Exchanger: n})
	_, cached := r.Cached(capsFor(t, mixBody))
	require.False(t, cached, "Cached before any query")
	for _, step := range []struct {
		client  string
		caps    disco.Caps
		capable bool
		queries int
	}{
		{"juliet@capulet.lit/balcony", capsFor(t, mixBody), true, 1},
		{"juliet@capulet.lit/garden", capsFor(t, mixBody), true, 1},
		{"juliet@capulet.lit/balcony", capsFor(t, mixBody), true, 1},
		{"romeo@montague.lit/orchard", capsFor(t, plainBody), false, 2},
		{"romeo@montague.lit/orchard", capsFor(t, plainBody), false, 2},
	} {
		capable, err := r.MIXCapable(t.Context(), jid.MustParse(step.client), step.caps)
		require.NoError(t, err)
		require.Equal(t, step.capable, capable, step.client)
		require.Equal(t, step.queries, n.count(), step.client)
		capable, cached := r.Cached(step.caps)
		require.True(t, cached, "Cached after a verified answer for %s", step.client)
		require.Equal(t, step.capable, capable, "Cached for %s", step.client)
		require.Equal(t, step.queries, n.count(), "Cached queries nobody")
	}
}

func TestResolverRequest(t *testing.T) {
	caps := capsFor(t, mixBody)
	for _, tc := range []struct {
		name     string
		from     string
		caps     disco.Caps
		wantFrom string
		wantNode string
	}{
		{"caps from the client's domain", "", caps, "capulet.lit", clientNode + "#" + caps.Ver},
		{"configured from", "juliet@capulet.lit", caps, "juliet@capulet.lit", clientNode + "#" + caps.Ver},
		{"no caps: no node", "", disco.Caps{}, "capulet.lit", ""},
		{"legacy caps", "", disco.Caps{Node: "http://psi-im.org/caps", Ver: "0.9.1"}, "capulet.lit", "http://psi-im.org/caps#0.9.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newFakeNet(map[string]fakeClient{"juliet@capulet.lit/balcony": {body: mixBody}})
			cfg := disco.ResolverConfig{Exchanger: n}
			if tc.from != "" {
				cfg.From = jid.MustParse(tc.from)
			}
			capable, err := newResolver(t, cfg).MIXCapable(t.Context(), jid.MustParse("juliet@capulet.lit/balcony"), tc.caps)
			require.NoError(t, err)
			require.True(t, capable)
			req := n.last()
			require.Equal(t, stanza.GetIQ, req.iq.Type)
			require.Equal(t, "juliet@capulet.lit/balcony", req.iq.To.String())
			require.Equal(t, tc.wantFrom, req.iq.From.String())
			require.NotEmpty(t, req.iq.ID)
			require.Equal(t, tc.wantNode, req.node)
		})
	}
}

// TestResolverNotCached covers answers that decide for their client only.
func TestResolverNotCached(t *testing.T) {
	mixCaps := capsFor(t, mixBody)
	for _, tc := range []struct {
		name    string
		client  fakeClient
		caps    disco.Caps
		capable bool
	}{
		{"lying client claims MIX", fakeClient{body: mixBody}, capsFor(t, plainBody), true},
		{"lying client denies MIX", fakeClient{body: plainBody}, mixCaps, false},
		{"answer for another node", fakeClient{body: mixBody, otherNode: true}, mixCaps, true},
		{"unsupported hash", fakeClient{body: mixBody}, disco.Caps{Hash: "md5", Node: clientNode, Ver: "Z9ORi5Z1rl9U9Ovx3Z9lIw=="}, true},
		{"legacy caps", fakeClient{body: mixBody}, disco.Caps{Node: clientNode, Ver: "1.0"}, true},
		{"ver of the wrong length", fakeClient{body: mixBody}, disco.Caps{Hash: "sha-1", Node: clientNode, Ver: mixCaps.Ver + "AAAA"}, true},
		{"no caps", fakeClient{body: mixBody}, disco.Caps{}, true},
		{"ill-formed answer", fakeClient{body: mixBody + `<feature var='urn:xmpp:mix:core:1'/>`}, mixCaps, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newFakeNet(map[string]fakeClient{"juliet@capulet.lit/balcony": tc.client})
			r := newResolver(t, disco.ResolverConfig{Exchanger: n})
			for i := 1; i <= 2; i++ {
				capable, err := r.MIXCapable(t.Context(), jid.MustParse("juliet@capulet.lit/balcony"), tc.caps)
				require.NoError(t, err)
				require.Equal(t, tc.capable, capable)
				require.Equal(t, i, n.count(), "every lookup queries")
				_, cached := r.Cached(tc.caps)
				require.False(t, cached, "Cached of an answer that did not verify")
			}
		})
	}
}

// TestResolverLiarDoesNotPoison checks that a client lying about its ver
// deceives nobody else (XEP-0115 §5.4 step 3.9).
func TestResolverLiarDoesNotPoison(t *testing.T) {
	n := newFakeNet(map[string]fakeClient{
		"mallory@evil.example/x":     {body: plainBody},
		"juliet@capulet.lit/balcony": {body: mixBody},
		"romeo@montague.lit/orchard": {body: mixBody},
	})
	r := newResolver(t, disco.ResolverConfig{Exchanger: n})
	caps := capsFor(t, mixBody)
	for _, step := range []struct {
		client  string
		capable bool
		queries int
	}{
		{"mallory@evil.example/x", false, 1},    // applies to mallory only
		{"juliet@capulet.lit/balcony", true, 2}, // not cached: asked, verified
		{"romeo@montague.lit/orchard", true, 2}, // cached
		{"mallory@evil.example/x", true, 2},     // the verified ver, from cache
	} {
		capable, err := r.MIXCapable(t.Context(), jid.MustParse(step.client), caps)
		require.NoError(t, err)
		require.Equal(t, step.capable, capable, step.client)
		require.Equal(t, step.queries, n.count(), step.client)
	}
}

func TestResolverErrors(t *testing.T) {
	caps := capsFor(t, mixBody)
	t.Run("error answer", func(t *testing.T) {
		n := newFakeNet(map[string]fakeClient{"juliet@capulet.lit/balcony": {fail: true}})
		r := newResolver(t, disco.ResolverConfig{Exchanger: n})
		for i := 1; i <= 2; i++ {
			capable, err := r.MIXCapable(t.Context(), jid.MustParse("juliet@capulet.lit/balcony"), caps)
			var se stanza.Error
			require.ErrorAs(t, err, &se)
			require.Equal(t, stanza.ServiceUnavailable, se.Condition)
			require.False(t, capable)
			require.Equal(t, i, n.count(), "errors are not cached")
		}
	})
	t.Run("not a disco#info result", func(t *testing.T) {
		ex := exchangerFunc(func(_ context.Context, req stanza.IQ, _ xml.TokenReader) (host.Response, error) {
			return host.Response{IQ: stanza.IQ{ID: req.ID, From: req.To, To: req.From, Type: stanza.ResultIQ}, Payload: []byte(`<ping xmlns="urn:xmpp:ping"/>`)}, nil
		})
		_, err := newResolver(t, disco.ResolverConfig{Exchanger: ex}).MIXCapable(t.Context(), jid.MustParse("juliet@capulet.lit/balcony"), caps)
		require.ErrorIs(t, err, disco.ErrNoQuery)
	})
	t.Run("send fails", func(t *testing.T) {
		sendErr := errors.New("link down")
		ex := exchangerFunc(func(context.Context, stanza.IQ, xml.TokenReader) (host.Response, error) {
			return host.Response{}, sendErr
		})
		_, err := newResolver(t, disco.ResolverConfig{Exchanger: ex}).MIXCapable(t.Context(), jid.MustParse("juliet@capulet.lit/balcony"), caps)
		require.ErrorIs(t, err, sendErr)
	})
}

type exchangerFunc func(context.Context, stanza.IQ, xml.TokenReader) (host.Response, error)

func (f exchangerFunc) Exchange(ctx context.Context, req stanza.IQ, payload xml.TokenReader) (host.Response, error) {
	return f(ctx, req, payload)
}

func TestResolverTimeout(t *testing.T) {
	silent := make(chan struct{}) // never closed: the client never answers
	n := newFakeNet(map[string]fakeClient{"juliet@capulet.lit/balcony": {body: mixBody, hold: silent}})
	caps := capsFor(t, mixBody)
	t.Run("configured timeout", func(t *testing.T) {
		r := newResolver(t, disco.ResolverConfig{Exchanger: n, Timeout: 20 * time.Millisecond})
		_, err := r.MIXCapable(t.Context(), jid.MustParse("juliet@capulet.lit/balcony"), caps)
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
	t.Run("caller's context", func(t *testing.T) {
		r := newResolver(t, disco.ResolverConfig{Exchanger: n})
		ctx, cancel := context.WithCancel(t.Context())
		n.mu.Lock()
		n.arrived = make(chan string, 1)
		n.mu.Unlock()
		go func() {
			<-n.arrived
			cancel()
		}()
		_, err := r.MIXCapable(ctx, jid.MustParse("juliet@capulet.lit/balcony"), caps)
		require.ErrorIs(t, err, context.Canceled)
	})
}

// TestResolverSharesQueries checks that concurrent lookups of one unknown ver
// make one query.
func TestResolverSharesQueries(t *testing.T) {
	const clients = 8
	hold := make(chan struct{})
	all := make(map[string]fakeClient)
	for i := range clients {
		all[jid.MustParse("juliet@capulet.lit/r"+string(rune('a'+i))).String()] = fakeClient{body: mixBody, hold: hold}
	}
	n := newFakeNet(all)
	n.arrived = make(chan string, clients)
	waiting := make(chan struct{}, clients)
	r := newResolver(t, disco.ResolverConfig{
		Exchanger: n,
		Logger:    slog.New(logSignal{msg: "disco: waiting for a shared caps query", ch: waiting}),
	})
	caps := capsFor(t, mixBody)
	results := make(chan error, clients)
	for full := range all {
		go func() {
			capable, err := r.MIXCapable(t.Context(), jid.MustParse(full), caps)
			if err == nil && !capable {
				err = errors.New(full + ": not capable")
			}
			results <- err
		}()
	}
	// Wait until one lookup queries and all others wait for it; a second
	// query fails the test at once.
	for queries, waiters := 0, 0; queries < 1 || waiters < clients-1; {
		select {
		case <-waiting:
			waiters++
		case client := <-n.arrived:
			queries++
			require.Equal(t, 1, queries, "second query, to %s", client)
		}
	}
	close(hold)
	for range clients {
		require.NoError(t, <-results)
	}
	require.Equal(t, 1, n.count())
}

// TestResolverSharedQueryFromLiar checks that lookups waiting for a query
// whose answer does not verify ask their own clients.
func TestResolverSharedQueryFromLiar(t *testing.T) {
	const honest = 4
	release := make(chan struct{})
	all := map[string]fakeClient{"mallory@evil.example/x": {body: plainBody, hold: release}}
	for i := range honest {
		all[jid.MustParse("juliet@capulet.lit/r"+string(rune('a'+i))).String()] = fakeClient{body: mixBody}
	}
	n := newFakeNet(all)
	n.arrived = make(chan string, honest+1)
	waiting := make(chan struct{}, honest)
	r := newResolver(t, disco.ResolverConfig{
		Exchanger: n,
		Logger:    slog.New(logSignal{msg: "disco: waiting for a shared caps query", ch: waiting}),
	})
	caps := capsFor(t, mixBody)

	type result struct {
		client  string
		capable bool
		err     error
	}
	results := make(chan result, honest+1)
	lookup := func(client string) {
		capable, err := r.MIXCapable(t.Context(), jid.MustParse(client), caps)
		results <- result{client, capable, err}
	}
	go lookup("mallory@evil.example/x")
	require.Equal(t, "mallory@evil.example/x", <-n.arrived)
	for client := range all {
		if client != "mallory@evil.example/x" {
			go lookup(client)
		}
	}
	for range honest {
		<-waiting
	}
	close(release)
	for range honest + 1 {
		res := <-results
		require.NoError(t, res.err)
		require.Equal(t, res.client != "mallory@evil.example/x", res.capable, res.client)
	}
	require.Equal(t, honest+1, n.count(), "each waiter asked its own client")

	// One of them verified and was cached.
	capable, err := r.MIXCapable(t.Context(), jid.MustParse("mallory@evil.example/x"), caps)
	require.NoError(t, err)
	require.True(t, capable)
	require.Equal(t, honest+1, n.count())
}

func TestResolverCacheEviction(t *testing.T) {
	body := func(name string) string {
		return `<identity category='client' type='pc' name='` + name + `'/><feature var='urn:xmpp:mix:core:1'/>`
	}
	clients := map[string]fakeClient{}
	caps := map[string]disco.Caps{}
	for _, name := range []string{"x", "y", "z"} {
		clients[name+"@example.org/r"] = fakeClient{body: body(name)}
		caps[name] = capsFor(t, body(name))
	}
	n := newFakeNet(clients)
	r := newResolver(t, disco.ResolverConfig{Exchanger: n, CacheSize: 2})
	for i, step := range []struct {
		name    string
		queries int
	}{
		{"x", 1}, // cache: x
		{"y", 2}, // y x
		{"x", 2}, // x y (hit)
		{"z", 3}, // z x, y evicted
		{"x", 3}, // x z (hit)
		{"y", 4}, // y x, z evicted
		{"x", 4}, // x y (hit)
		{"z", 5}, // z x (evicted earlier)
	} {
		capable, err := r.MIXCapable(t.Context(), jid.MustParse(step.name+"@example.org/r"), caps[step.name])
		require.NoError(t, err)
		require.True(t, capable)
		require.Equal(t, step.queries, n.count(), "step %d (%s)", i, step.name)
	}
}

func TestResolverUpdate(t *testing.T) {
	sessions := host.NewMemSessions()
	balcony := jid.MustParse("juliet@capulet.lit/balcony")
	garden := jid.MustParse("juliet@capulet.lit/garden")
	sessions.Add(host.Resource{JID: balcony})
	sessions.Add(host.Resource{JID: garden, MIXCapable: true})
	n := newFakeNet(map[string]fakeClient{
		balcony.String():          {body: mixBody},
		garden.String():           {fail: true},
		"juliet@capulet.lit/gone": {body: mixBody},
	})
	r := newResolver(t, disco.ResolverConfig{Exchanger: n})

	require.NoError(t, r.Update(t.Context(), sessions, balcony, capsFor(t, mixBody)))
	res, ok := sessions.Resource(balcony)
	require.True(t, ok)
	require.True(t, res.MIXCapable)

	// No answer: the flag is left as it was.
	require.Error(t, r.Update(t.Context(), sessions, garden, capsFor(t, plainBody)))
	res, ok = sessions.Resource(garden)
	require.True(t, ok)
	require.True(t, res.MIXCapable)

	err := r.Update(t.Context(), sessions, jid.MustParse("juliet@capulet.lit/gone"), capsFor(t, mixBody))
	require.ErrorIs(t, err, host.ErrNoSession)
}

// TestResolverThroughExchange runs a lookup through host.Exchange, with a
// fake client answering what it is sent on the wire.
func TestResolverThroughExchange(t *testing.T) {
	var ex *host.Exchange
	var sent []string
	rec := hosttest.NewRecorder(func(_ context.Context, d hosttest.Delivery) error {
		sent = append(sent, string(d.Stanza))
		d2 := xml.NewDecoder(bytes.NewReader(d.Stanza))
		tok, err := d2.Token()
		if err != nil {
			return err
		}
		req, err := stanza.NewIQ(tok.(xml.StartElement))
		if err != nil {
			return err
		}
		q, err := disco.ParseInfo(d2)
		if err != nil {
			return err
		}
		answer := `<query xmlns="http://jabber.org/protocol/disco#info" node="` + q.Node + `">` + mixBody + `</query>`
		_, err = ex.Receive(stanza.IQ{ID: req.ID, From: req.To, To: req.From, Type: stanza.ResultIQ}, tokensOf(answer))
		return err
	})
	ex = host.NewExchange(rec)
	r := newResolver(t, disco.ResolverConfig{Exchanger: ex})
	caps := capsFor(t, mixBody)
	capable, err := r.MIXCapable(t.Context(), jid.MustParse("juliet@capulet.lit/balcony"), caps)
	require.NoError(t, err)
	require.True(t, capable)
	require.Len(t, sent, 1)
	require.Regexp(t, `^<iq type="get" to="juliet@capulet.lit/balcony" from="capulet.lit" id="[^"]+">`+
		`<query xmlns="http://jabber.org/protocol/disco#info" node="`+regexp.QuoteMeta(clientNode+"#"+caps.Ver)+`"></query></iq>$`, sent[0])
	require.Zero(t, ex.Pending())
}

// TestResolverWaiterGivesUp checks that a lookup waiting for another's query
// ends with its own context.
func TestResolverWaiterGivesUp(t *testing.T) {
	hold := make(chan struct{})
	n := newFakeNet(map[string]fakeClient{
		"juliet@capulet.lit/balcony": {body: mixBody, hold: hold},
		"juliet@capulet.lit/garden":  {body: mixBody},
	})
	n.arrived = make(chan string, 2)
	waiting := make(chan struct{}, 1)
	r := newResolver(t, disco.ResolverConfig{
		Exchanger: n,
		Logger:    slog.New(logSignal{msg: "disco: waiting for a shared caps query", ch: waiting}),
	})
	caps := capsFor(t, mixBody)
	leader := make(chan error, 1)
	go func() {
		_, err := r.MIXCapable(t.Context(), jid.MustParse("juliet@capulet.lit/balcony"), caps)
		leader <- err
	}()
	<-n.arrived
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-waiting
		cancel()
	}()
	_, err := r.MIXCapable(ctx, jid.MustParse("juliet@capulet.lit/garden"), caps)
	require.ErrorIs(t, err, context.Canceled)
	close(hold)
	require.NoError(t, <-leader)
	require.Equal(t, 1, n.count())
}

func TestNewResolverValidates(t *testing.T) {
	n := newFakeNet(nil)
	for _, tc := range []struct {
		name string
		cfg  disco.ResolverConfig
	}{
		{"no exchanger", disco.ResolverConfig{}},
		{"negative cache size", disco.ResolverConfig{Exchanger: n, CacheSize: -1}},
		{"negative timeout", disco.ResolverConfig{Exchanger: n, Timeout: -time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := disco.NewResolver(tc.cfg)
			require.Error(t, err)
			require.Nil(t, r)
		})
	}
}

// logRecorder is a slog.Handler keeping the message and the attributes of
// every record.
type logRecorder struct {
	mu      sync.Mutex
	records []string
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecorder) WithGroup(string) slog.Handler            { return h }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	line := r.Message
	r.Attrs(func(a slog.Attr) bool {
		line += " " + a.String()
		return true
	})
	h.mu.Lock()
	h.records = append(h.records, line)
	h.mu.Unlock()
	return nil
}

// TestResolverLogsWhyUnverified checks that the debug log names the real
// reason an answer is not verified, and says nothing for a presence without
// caps, which has nothing to verify.
func TestResolverLogsWhyUnverified(t *testing.T) {
	for _, tc := range []struct {
		name string
		caps disco.Caps
		want []string // the log lines, each as a prefix
	}{
		{"no caps", disco.Caps{}, nil},
		{"unsupported hash", disco.Caps{Hash: "md5", Node: clientNode, Ver: "Z9ORi5Z1rl9U9Ovx3Z9lIw=="},
			[]string{"disco: caps not verifiable client=juliet@capulet.lit/balcony hash=md5 err=" + disco.ErrUnsupportedHash.Error()}},
		{"legacy caps", disco.Caps{Node: clientNode, Ver: "1.0"},
			[]string{"disco: legacy caps without hash are not verifiable"}},
		{"lying caps", capsFor(t, plainBody), []string{"disco: caps do not match the answer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &logRecorder{}
			n := newFakeNet(map[string]fakeClient{"juliet@capulet.lit/balcony": {body: mixBody}})
			r := newResolver(t, disco.ResolverConfig{Exchanger: n, Logger: slog.New(logs)})
			capable, err := r.MIXCapable(t.Context(), jid.MustParse("juliet@capulet.lit/balcony"), tc.caps)
			require.NoError(t, err)
			require.True(t, capable)
			require.Len(t, logs.records, len(tc.want), "%q", logs.records)
			for i, want := range tc.want {
				require.True(t, strings.HasPrefix(logs.records[i], want), "%q does not start with %q", logs.records[i], want)
			}
		})
	}
}

// The caps poisoning of XEP-0115 §9.3: the §5.1 string of mixPAMBody, whose
// MIX features sort last, is also that of poisonBody, which moves them into a
// form, so that poisonBody verifies against a MIX client's ver while
// answering "not MIX capable".
const (
	mixPAMBody = `<identity category='client' type='pc' name='MIX client'/>` +
		`<feature var='http://jabber.org/protocol/disco#info'/>` +
		`<feature var='urn:xmpp:mix:core:1'/><feature var='urn:xmpp:mix:pam:2'/>`
	poisonBody = `<identity category='client' type='pc' name='MIX client'/>` +
		`<feature var='http://jabber.org/protocol/disco#info'/>` +
		`<x xmlns='jabber:x:data' type='result'>` +
		`<field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mix:core:1</value></field>` +
		`<field var='urn:xmpp:mix:pam:2'/></x>`
)

// TestResolverFormPoisoning checks that an answer verifying against a MIX
// client's ver with the MIX feature moved into a form decides for its sender
// only, whether the ver was cached or evicted before, and whoever asks first.
func TestResolverFormPoisoning(t *testing.T) {
	caps := capsFor(t, mixPAMBody)
	require.Equal(t, caps, capsFor(t, poisonBody), "the poisoned answer must hash like the MIX client's")
	const (
		mallory = "mallory@evil.example/x"
		juliet  = "juliet@capulet.lit/balcony"
	)
	other := func(i int) (string, disco.Caps) {
		body := fmt.Sprintf(`<identity category='client' type='pc' name='filler %d'/>`, i)
		return fmt.Sprintf("filler%d@evil.example/x", i), capsFor(t, body)
	}
	for _, tc := range []struct {
		name  string
		steps []string // clients asking in turn; "evict" asks about fresh vers
		want  []bool   // the verdicts, "evict" steps left out
	}{
		// Mallory's own answer decides for Mallory only...
		{"poisoner first", []string{mallory, juliet, mallory, juliet}, []bool{false, true, true, true}},
		// ...and Juliet's verified one covers Mallory's ver too.
		{"MIX client first", []string{juliet, mallory, juliet}, []bool{true, true, true}},
		{"poisoner after eviction", []string{juliet, "evict", mallory, juliet}, []bool{true, false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clients := map[string]fakeClient{mallory: {body: poisonBody}, juliet: {body: mixPAMBody}}
			for i := range 3 {
				j, _ := other(i)
				clients[j] = fakeClient{body: fmt.Sprintf(`<identity category='client' type='pc' name='filler %d'/>`, i)}
			}
			r := newResolver(t, disco.ResolverConfig{Exchanger: newFakeNet(clients), CacheSize: 2})
			var got []bool
			for _, step := range tc.steps {
				if step == "evict" {
					for i := range 3 {
						j, c := other(i)
						_, err := r.MIXCapable(t.Context(), jid.MustParse(j), c)
						require.NoError(t, err)
					}
					continue
				}
				capable, err := r.MIXCapable(t.Context(), jid.MustParse(step), caps)
				require.NoError(t, err)
				got = append(got, capable)
			}
			require.Equal(t, tc.want, got)
		})
	}
}
