package testclient

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/disco"
	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/ns"
)

// Timeout bounds every wait of a test client.
const Timeout = 10 * time.Second

// Client is a logged-in mellium client. Everything it receives is kept in
// order; Expect takes stanzas out. It answers disco#info queries itself
// (with urn:xmpp:mix:core:1 when MIX capable) and roster pushes with a
// result; other requests get mellium's service-unavailable.
type Client struct {
	// JID is the bound full JID.
	JID jid.JID
	// Session is the mellium session.
	Session *xmpp.Session

	features    []string
	caps        string                   // the XEP-0115 <c/> element of its presence, "" for none
	silentDisco bool                     // leave disco#info queries unanswered
	discoAnswer func(node string) string // see DiscoAnswer
	recordDisco bool                     // keep answered disco#info queries in the inbox
	afterDisco  string                   // sent right after the first disco#info answer, see AfterDisco

	mu      sync.Mutex
	inbox   []packet.Packet
	changed chan struct{} // closed and replaced on every arrival
	served  chan struct{} // closed when Serve returns

	serveErr error // Serve's error, set before served is closed

	received syncBuffer // every byte read from the server
}

// LoginOption configures Login.
type LoginOption func(*loginConfig)

type loginConfig struct {
	resource    string
	features    []string
	mechanism   sasl.Mechanism
	password    string
	noPresence  bool
	caps        bool
	noRoster    bool
	annotate    bool
	silentDisco bool
	capsNode    string
	discoAnswer func(node string) string
	recordDisco bool
	afterDisco  string
}

// DiscoAnswer makes the client answer every disco#info query with a
// <query/> for the node asked whose children are answer(node), as a hostile
// client would, and keep the query in its inbox.
func DiscoAnswer(answer func(node string) string) LoginOption {
	return func(c *loginConfig) { c.discoAnswer = answer }
}

// Caps makes the client advertise XEP-0115 entity capabilities (sha-1,
// under node) in its initial presence, as CapsOf computes them, and answer
// disco#info queries with the node they ask about (XEP-0115 §6.2).
func Caps(node string) LoginOption { return func(c *loginConfig) { c.capsNode = node } }

// CapsOf returns the XEP-0115 caps that a client with Caps(node) and the
// given extra features (ns.MIXCore for MIXCapable) advertises.
func CapsOf(node string, features ...string) disco.Caps {
	inf, err := disco.ParseInfo(xml.NewDecoder(strings.NewReader(infoQuery("", append([]string{nsDiscoInfo}, features...)))))
	if err != nil {
		panic(err)
	}
	ver, err := disco.VerificationString(inf, "sha-1")
	if err != nil {
		panic(err)
	}
	return disco.Caps{Hash: "sha-1", Node: node, Ver: ver}
}

const nsDiscoInfo = "http://jabber.org/protocol/disco#info"

// SilentDisco makes the client leave disco#info queries unanswered, as a
// hostile or broken client would; the queries are kept in its inbox.
func SilentDisco() LoginOption { return func(c *loginConfig) { c.silentDisco = true } }

// RecordDisco keeps the disco#info queries the client answered in its
// inbox, after the answer was sent: a test that takes one and then pings
// knows the server has handled the answer.
func RecordDisco() LoginOption { return func(c *loginConfig) { c.recordDisco = true } }

// AfterDisco makes the client send the stanza raw (XML in the client
// namespace) right after its answer to the first disco#info query, in the
// same write, as a client that goes on with its queued stanzas without
// waiting for anything.
func AfterDisco(raw string) LoginOption { return func(c *loginConfig) { c.afterDisco = raw } }

// Resource asks to bind the given resource.
func Resource(r string) LoginOption { return func(c *loginConfig) { c.resource = r } }

// MIXCapable makes the client advertise urn:xmpp:mix:core:1 in its
// disco#info (XEP-0369 §6.7).
func MIXCapable() LoginOption {
	return func(c *loginConfig) { c.features = append(c.features, ns.MIXCore) }
}

// Features adds features to the client's disco#info.
func Features(vars ...string) LoginOption {
	return func(c *loginConfig) { c.features = append(c.features, vars...) }
}

// Mechanism selects the SASL mechanism (default SCRAM-SHA-256).
func Mechanism(m sasl.Mechanism) LoginOption { return func(c *loginConfig) { c.mechanism = m } }

// Password overrides the account's password.
func Password(pw string) LoginOption { return func(c *loginConfig) { c.password = pw } }

// NoPresence leaves out the initial presence Login sends otherwise.
func NoPresence() LoginOption { return func(c *loginConfig) { c.noPresence = true } }

// WithCaps makes the client advertise XEP-0115 entity capabilities, with a
// verification string computed from its disco#info, in its initial
// presence; Caps returns the element for the presence a test sends.
func WithCaps() LoginOption { return func(c *loginConfig) { c.caps = true } }

// Feature adds a feature to the client's disco#info (and so changes its
// caps verification string).
func Feature(f string) LoginOption {
	return func(c *loginConfig) { c.features = append(c.features, f) }
}

// NoRoster leaves out the roster get that Login sends otherwise before the
// initial presence, as RFC 6121 §2.2 recommends: the client is then not an
// interested resource (§2.1.6) and gets no roster pushes.
func NoRoster() LoginOption { return func(c *loginConfig) { c.noRoster = true } }

// AnnotatedRoster makes Login's roster get ask for channel annotations
// (XEP-0405 §2.10).
func AnnotatedRoster() LoginOption { return func(c *loginConfig) { c.annotate = true } }

// Dial logs in name and returns the client, or the negotiation error.
func (s *Server) Dial(ctx context.Context, name string, opts ...LoginOption) (*Client, error) {
	cfg := loginConfig{mechanism: sasl.ScramSha256, password: s.Passwords[name]}
	for _, o := range opts {
		o(&cfg)
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return nil, err
	}
	features := []xmpp.StreamFeature{xmpp.SASL("", cfg.password, cfg.mechanism), bind(cfg.resource)}
	state := xmpp.Secure
	if s.ClientTLS != nil {
		features = append([]xmpp.StreamFeature{xmpp.StartTLS(s.ClientTLS)}, features...)
		state = 0
	}
	// The session lives on after ctx: ctx bounds only the negotiation, through
	// the connection's deadline.
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	c := &Client{
		features:    append([]string{nsDiscoInfo}, cfg.features...),
		silentDisco: cfg.silentDisco,
		discoAnswer: cfg.discoAnswer,
		recordDisco: cfg.recordDisco,
		afterDisco:  cfg.afterDisco,
		changed:     make(chan struct{}),
		served:      make(chan struct{}),
	}
	if cfg.caps {
		var err error
		if c.caps, err = c.capsElement(); err != nil {
			_ = conn.Close()
			return nil, err
		}
	}
	origin := s.JID(name)
	sess, err := xmpp.NewSession(context.WithoutCancel(ctx), s.Domain(), origin, conn, state, xmpp.NewNegotiator(func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
		return xmpp.StreamConfig{Features: features, TeeIn: &c.received}
	}))
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	c.JID, c.Session = sess.LocalAddr(), sess
	go func() {
		defer close(c.served)
		c.serveErr = sess.Serve(xmpp.HandlerFunc(c.handle))
	}()
	if !cfg.noRoster {
		if err := c.getRoster(ctx, cfg.annotate); err != nil {
			_ = c.close()
			return nil, err
		}
	}
	if !cfg.noPresence {
		caps := c.caps
		if cfg.capsNode != "" {
			cc := CapsOf(cfg.capsNode, cfg.features...)
			caps = `<c xmlns="http://jabber.org/protocol/caps" hash="sha-1" node="` + cc.Node + `" ver="` + cc.Ver + `"/>`
		}
		if err := sess.Send(context.Background(), xml.NewDecoder(strings.NewReader("<presence>"+caps+"</presence>"))); err != nil {
			_ = c.close()
			return nil, err
		}
	}
	return c, nil
}

// getRoster requests the roster and waits for the answer, which it takes
// out of the inbox.
func (c *Client) getRoster(ctx context.Context, annotate bool) error {
	id := "roster-" + randomID()
	q := `<query xmlns="jabber:iq:roster"/>`
	if annotate {
		q = `<query xmlns="jabber:iq:roster"><annotate xmlns="urn:xmpp:mix:roster:0"/></query>`
	}
	if err := c.Session.Send(context.Background(), xml.NewDecoder(strings.NewReader(`<iq type="get" id="`+id+`">`+q+`</iq>`))); err != nil {
		return err
	}
	wait := Timeout
	if d, ok := ctx.Deadline(); ok {
		wait = time.Until(d)
	}
	if p, ok := c.wait(wait, ByID(id)); !ok || p.Type != "result" {
		return errors.New("testclient: no roster result for " + c.JID.String())
	}
	return nil
}

// Login is Dial that fails the test on error and closes the client when the
// test ends.
func (s *Server) Login(t testing.TB, name string, opts ...LoginOption) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	c, err := s.Dial(ctx, name, opts...)
	require.NoError(t, err, "login as %s", name)
	t.Cleanup(func() { _ = c.close() })
	return c
}

// handle records one incoming element and answers what a client answers.
func (c *Client) handle(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	p, err := packet.Encode(xmlstream.MultiReader(xmlstream.Token(*start), t))
	if err != nil {
		return err
	}
	if p.IsRequest() {
		if start, ok := firstStart(p); ok {
			switch start.Name {
			case xml.Name{Space: nsDiscoInfo, Local: "query"}:
				var node string
				for _, a := range start.Attr {
					if a.Name.Local == "node" {
						node = a.Value
					}
				}
				switch {
				case c.discoAnswer != nil:
					answer := `<query xmlns="` + nsDiscoInfo + `" node="` + node + `">` + c.discoAnswer(node) + `</query>`
					if _, err := xmlstream.Copy(t, p.IQ().Result(xml.NewDecoder(strings.NewReader(answer)))); err != nil {
						return err
					}
				case !c.silentDisco:
					_, err := xmlstream.Copy(t, p.IQ().Result(xml.NewDecoder(strings.NewReader(infoQuery(node, c.features)))))
					if err == nil && c.afterDisco != "" {
						// Written before the handler returns: mellium
						// flushes the answer and raw together.
						_, err = xmlstream.Copy(t, xml.NewDecoder(strings.NewReader(c.afterDisco)))
						c.afterDisco = ""
					}
					if err != nil || !c.recordDisco {
						return err
					}
				}
			case xml.Name{Space: ns.Roster, Local: "query"}:
				if _, err := xmlstream.Copy(t, p.IQ().Result(nil)); err != nil {
					return err
				}
			}
		}
	}
	c.mu.Lock()
	c.inbox = append(c.inbox, p)
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	return nil
}

// capsNode is the XEP-0115 node of the test client software.
const capsNode = "https://mixpam.example/testclient"

// capsElement returns the XEP-0115 <c/> element for the client's
// disco#info.
func (c *Client) capsElement() (string, error) {
	ver, err := disco.VerificationString(disco.Info{
		Identities: []info.Identity{{Category: "client", Type: "pc"}},
		Features:   c.features,
	}, "sha-1")
	if err != nil {
		return "", err
	}
	return `<c xmlns="http://jabber.org/protocol/caps" hash="sha-1" node="` + capsNode + `" ver="` + ver + `"/>`, nil
}

// Caps returns the XEP-0115 <c/> element the client puts in its presence
// (see WithCaps), or "" when it advertises no caps.
func (c *Client) Caps() string { return c.caps }

// Drain takes every received stanza out of the inbox and returns them.
func (c *Client) Drain() []packet.Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.inbox
	c.inbox = nil
	return out
}

// infoQuery renders a test client's disco#info answer for node.
func infoQuery(node string, features []string) string {
	var b strings.Builder
	b.WriteString(`<query xmlns="` + nsDiscoInfo + `"`)
	if node != "" {
		b.WriteString(` node="` + node + `"`)
	}
	b.WriteString(`><identity category="client" type="pc"/>`)
	for _, f := range features {
		b.WriteString(`<feature var="` + f + `"/>`)
	}
	b.WriteString(`</query>`)
	return b.String()
}

// Send sends one stanza written as XML (in the client namespace, children
// declaring their own).
func (c *Client) Send(t testing.TB, raw string) {
	t.Helper()
	// No deadline: mellium's Send sets the connection's write deadline in
	// the past when its context ends, racing with the next Send; a context
	// that never ends avoids that.
	require.NoError(t, c.Session.Send(context.Background(), xml.NewDecoder(strings.NewReader(raw))), "send %s", raw)
}

// Expect waits for the first received stanza, not yet taken, that match
// accepts, takes it out of the inbox and returns it.
func (c *Client) Expect(t testing.TB, what string, match func(packet.Packet) bool) packet.Packet {
	t.Helper()
	p, ok := c.wait(Timeout, match)
	require.True(t, ok, "%s: no %s within %s; received: %s", c.JID, what, Timeout, c.dump())
	return p
}

// ExpectWithin is Expect with a wait of d instead of Timeout, for answers
// that take long by design (a join timing out, say).
func (c *Client) ExpectWithin(t testing.TB, d time.Duration, what string, match func(packet.Packet) bool) packet.Packet {
	t.Helper()
	p, ok := c.wait(d, match)
	require.True(t, ok, "%s: no %s within %s; received: %s", c.JID, what, d, c.dump())
	return p
}

// ExpectNone checks that no stanza that match accepts is in the inbox now.
// Use it after a later stanza proves earlier ones were processed.
func (c *Client) ExpectNone(t testing.TB, what string, match func(packet.Packet) bool) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.inbox {
		require.False(t, match(p), "%s: unexpected %s: %s", c.JID, what, p.Raw)
	}
}

// ExpectCapsQuery waits for the disco#info query the server sends to find
// out whether the client is MIX capable (XEP-0405 §2.1, XEP-0115 §6.2),
// which a client logged in with RecordDisco has answered, then pings. The
// server applies what the answer told it before the client's next stanza,
// so once the ping is answered channel traffic reaches a MIX-capable
// client. It returns the query.
func (c *Client) ExpectCapsQuery(t testing.TB) packet.Packet {
	t.Helper()
	q := c.Expect(t, "the server's disco#info query", IsDiscoInfoQuery)
	c.Ping(t)
	return q
}

// IsDiscoInfoQuery matches a disco#info query (XEP-0030 §3.1).
func IsDiscoInfoQuery(p packet.Packet) bool {
	start, ok := firstStart(p)
	return p.IsRequest() && ok && start.Name == xml.Name{Space: nsDiscoInfo, Local: "query"}
}

// Ping sends an XEP-0199 ping to the server and waits for the answer. The
// server handles each client's stanzas in order and routes synchronously
// into send queues, so: after a.Ping, everything a's earlier stanzas caused
// is queued; after a.Ping then b.Ping, everything queued for b before is in
// b's inbox. That is how tests show that something was not delivered.
func (c *Client) Ping(t testing.TB) {
	t.Helper()
	id := "ping-" + randomID()
	c.Send(t, `<iq type="get" id="`+id+`" to="`+c.JID.Domain().String()+`"><ping xmlns="urn:xmpp:ping"/></iq>`)
	c.Expect(t, "ping result", ByID(id))
}

func (c *Client) wait(d time.Duration, match func(packet.Packet) bool) (packet.Packet, bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		c.mu.Lock()
		for i, p := range c.inbox {
			if match(p) {
				c.inbox = append(c.inbox[:i:i], c.inbox[i+1:]...)
				c.mu.Unlock()
				return p, true
			}
		}
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-changed:
		case <-c.served:
			// The stream is gone: check the inbox one last time.
			c.mu.Lock()
			defer c.mu.Unlock()
			for i, p := range c.inbox {
				if match(p) {
					c.inbox = append(c.inbox[:i:i], c.inbox[i+1:]...)
					return p, true
				}
			}
			return packet.Packet{}, false
		case <-timer.C:
			return packet.Packet{}, false
		}
	}
}

// Ended waits until the client's stream has ended and returns mellium's
// reason (a stream.Error when the server sent one).
func (c *Client) Ended(t testing.TB) error {
	t.Helper()
	select {
	case <-c.served:
		return c.serveErr
	case <-time.After(Timeout):
		require.FailNow(t, "stream did not end", "%s", c.JID)
		return nil
	}
}

// Received returns every byte the client has read from the server (after
// TLS), to check what a stream ended with.
func (c *Client) Received() string { return c.received.String() }

// WriteRaw writes bytes straight to the connection, bypassing mellium's
// encoder, to send what a broken or hostile client would.
func (c *Client) WriteRaw(t testing.TB, b string) {
	t.Helper()
	_, err := c.Session.Conn().Write([]byte(b))
	require.NoError(t, err)
}

// Close ends the client's stream and waits for it.
func (c *Client) Close(t testing.TB) {
	t.Helper()
	require.NoError(t, c.close())
}

func (c *Client) close() error {
	err := c.Session.Close()
	_ = c.Session.Conn().Close()
	select {
	case <-c.served:
	case <-time.After(Timeout):
	}
	return ignoreClosed(err)
}

func (c *Client) dump() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, p := range c.inbox {
		b.Write(p.Raw)
		b.WriteByte('\n')
	}
	return b.String()
}

func firstStart(p packet.Packet) (xml.StartElement, bool) {
	r := p.Payload()
	for {
		tok, err := r.Token()
		if err != nil {
			return xml.StartElement{}, false
		}
		if s, ok := tok.(xml.StartElement); ok {
			return s, true
		}
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Vanish drops the connection without closing the stream, as a client
// whose network went away, and waits for its reader to stop.
func (c *Client) Vanish() {
	_ = c.Session.Conn().Close()
	select {
	case <-c.served:
	case <-time.After(Timeout):
	}
}
