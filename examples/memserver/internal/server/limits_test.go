package server_test

import (
	"bufio"
	"bytes"
	"crypto/sha1" //nolint:gosec // XEP-0114 §3 defines the handshake with SHA-1.
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/stream"

	"github.com/mixpam/mixpam/examples/internal/syncbuf"
	"github.com/mixpam/mixpam/examples/memserver/internal/server"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
	"github.com/mixpam/mixpam/examples/memserver/internal/throttle"
)

// rawConn is a hostile or scripted client on a raw socket, connected from
// a chosen loopback address.
type rawConn struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	got  []byte
}

func dialFrom(t *testing.T, src, addr string) *rawConn {
	t.Helper()
	d := net.Dialer{Timeout: testclient.Timeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	conn, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(testclient.Timeout)))
	return &rawConn{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// send writes s, then reads until one of the markers arrives or the server
// closes the connection, and returns what was read since the last call.
func (c *rawConn) send(s string, markers ...string) string {
	c.t.Helper()
	if s != "" {
		_, err := io.WriteString(c.conn, s)
		require.NoError(c.t, err)
	}
	start := len(c.got)
	buf := make([]byte, 4096)
	for {
		for _, m := range markers {
			if bytes.Contains(c.got[start:], []byte(m)) {
				return string(c.got[start:])
			}
		}
		n, err := c.r.Read(buf)
		c.got = append(c.got, buf[:n]...)
		if err != nil {
			return string(c.got[start:])
		}
	}
}

const (
	features = "</stream:features>"
	closed   = "</stream:stream>"
)

// plain tries one PLAIN login on a new connection from src and returns the
// server's answer, up to the end of the SASL outcome or of the stream.
func plain(t *testing.T, src, addr, user, password string) string {
	t.Helper()
	c := dialFrom(t, src, addr)
	got := c.send(header, features, closed)
	if !strings.Contains(got, features) {
		return got
	}
	cred := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
	return c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>`+cred+`</auth>`, "</failure>", "<success", closed)
}

func streamError(cond stream.Error) string { return "<stream:error><" + cond.Err + " " }

// TestNestingAttackBeforeLogin is the memory attack of issue 12: many
// unauthenticated connections each send <auth> followed by 85,000 nested
// elements (255 KB, under the stanza size limit). Each is refused with
// policy-violation as soon as the nesting passes the limit, without
// waiting for the element to end.
func TestNestingAttackBeforeLogin(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{})
	attack := header + `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>` + strings.Repeat("<a>", 85000)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			c := dialFrom(t, "127.0.0.1", srv.Addr)
			go func() { _, _ = io.WriteString(c.conn, attack) }()
			got := c.send("", closed)
			require.Contains(t, got, streamError(stream.PolicyViolation))
			require.Contains(t, got, "nested too deeply")
		})
	}
	wg.Wait()
}

// TestSizeLimitBeforeLogin: before authentication an element may take only
// Limits.UnauthStanza bytes, far less than after.
func TestSizeLimitBeforeLogin(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{Limits: server.Limits{UnauthStanza: 2048}})
	got := testclient.Raw(t, srv.Addr, header+`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>`+strings.Repeat("A", 4096)+`</auth>`)
	require.Contains(t, got, streamError(stream.PolicyViolation))
	require.Contains(t, got, "stanza too large")
}

// TestUnauthenticatedCaps: connections that have not logged in are capped
// per address (policy-violation) and in all (resource-constraint); a
// login frees its place.
func TestUnauthenticatedCaps(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{Limits: server.Limits{MaxUnauth: 4, MaxUnauthPerAddr: 2}})
	var held []*rawConn
	for _, src := range []string{"127.0.0.1", "127.0.0.1", "127.0.0.2"} {
		c := dialFrom(t, src, srv.Addr)
		require.Contains(t, c.send(header, features, closed), features, "a connection within the caps is served")
		held = append(held, c)
	}
	third := dialFrom(t, "127.0.0.1", srv.Addr).send(header, closed)
	require.Contains(t, third, streamError(stream.PolicyViolation))
	require.Contains(t, third, "too many connections logging in from 127.0.0.1")

	c := dialFrom(t, "127.0.0.3", srv.Addr)
	require.Contains(t, c.send(header, features, closed), features, "another address is served")
	held = append(held, c)
	full := dialFrom(t, "127.0.0.4", srv.Addr).send(header, closed)
	require.Contains(t, full, streamError(stream.ResourceConstraint))

	// One held connection logs in and binds: it no longer counts.
	cred := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00pw-alice"))
	require.Contains(t, held[0].send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>`+cred+`</auth>`, "<success", closed), "<success")
	require.Contains(t, held[0].send(header, features, closed), features)
	require.Contains(t, held[0].send(`<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>`, "</iq>", closed), "<jid>")
	require.Contains(t, dialFrom(t, "127.0.0.1", srv.Addr).send(header, features, closed), features)
}

// TestNegotiationTimeout: a client that does not finish logging in within
// the negotiation timeout gets connection-timeout.
func TestNegotiationTimeout(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{Limits: server.Limits{NegotiationTimeout: 200 * time.Millisecond}})
	got := testclient.Raw(t, srv.Addr, header)
	require.Contains(t, got, streamError(stream.ConnectionTimeout))
}

// TestDeepNestingAfterLogin: a message nested 30,000 levels deep ends the
// sender's stream with policy-violation and reaches nobody.
func TestDeepNestingAfterLogin(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{})
	alice := srv.Login(t, "alice")
	bob := srv.Login(t, "bob")
	alice.WriteRaw(t, "<message to='bob@localhost' type='chat'><body>deep</body>"+strings.Repeat("<a>", 30000)+strings.Repeat("</a>", 30000)+"</message>")
	_ = alice.Ended(t)
	require.Contains(t, alice.Received(), streamError(stream.PolicyViolation))
	require.Contains(t, alice.Received(), "nested too deeply")
	bob.Ping(t)
	bob.ExpectNone(t, "the deep message", testclient.Contains("message", "deep"))
}

// TestHalfStanzaTimeout: after login, an element started but not finished
// within the stanza timeout ends the stream with connection-timeout.
func TestHalfStanzaTimeout(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{Limits: server.Limits{StanzaTimeout: 200 * time.Millisecond}})
	alice := srv.Login(t, "alice")
	alice.WriteRaw(t, "<message to='bob@localhost'><body>never finished")
	_ = alice.Ended(t)
	require.Contains(t, alice.Received(), streamError(stream.ConnectionTimeout))
}

// manualClock is a clock the test moves.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestPasswordGuessingThrottled: guesses from one address are checked
// until the limit, then refused (policy-violation, as mod_fail2ban) until
// the ban ends; a correct login from another address is unaffected; each
// failure is logged at info with the address.
func TestPasswordGuessingThrottled(t *testing.T) {
	clock := &manualClock{now: time.Unix(2e9, 0)}
	var logs syncbuf.Buffer
	srv := testclient.Start(t, testclient.Options{
		Limits: server.Limits{Throttle: throttle.Config{AddrFailures: 5, Ban: time.Minute, Now: clock.Now}},
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	checked, refused := 0, 0
	for i := range 20 {
		got := plain(t, "127.0.0.1", srv.Addr, "alice", fmt.Sprintf("guess-%d", i))
		switch {
		case strings.Contains(got, "<not-authorized/>"):
			checked++
		case strings.Contains(got, streamError(stream.PolicyViolation)):
			require.Contains(t, got, "too many failed authentications from 127.0.0.1")
			refused++
		default:
			t.Fatalf("unexpected answer: %s", got)
		}
	}
	require.Equal(t, 5, checked, "guesses checked")
	require.Equal(t, 15, refused)
	require.Contains(t, plain(t, "127.0.0.2", srv.Addr, "alice", "pw-alice"), "<success", "another address logs in")
	require.Contains(t, plain(t, "127.0.0.1", srv.Addr, "alice", "pw-alice"), streamError(stream.PolicyViolation), "even the right password is refused during the ban")
	require.Equal(t, 5, strings.Count(logs.String(), `level=INFO msg="authentication failed" remote=127.0.0.1 user=alice`), logs.String())

	clock.Advance(time.Minute)
	require.Contains(t, plain(t, "127.0.0.1", srv.Addr, "alice", "pw-alice"), "<success", "the ban is over")
}

// TestAccountGuessingFromManyAddresses: guesses on one account from many
// addresses close it to those addresses (temporary-auth-failure, without
// checking the password) but not to a clean address.
func TestAccountGuessingFromManyAddresses(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{Limits: server.Limits{Throttle: throttle.Config{AddrFailures: 100, AccountFailures: 4}}})
	for i := range 4 {
		require.Contains(t, plain(t, fmt.Sprintf("127.0.1.%d", i), srv.Addr, "alice", "guess"), "<not-authorized/>")
	}
	require.Contains(t, plain(t, "127.0.1.0", srv.Addr, "alice", "pw-alice"), "<temporary-auth-failure/>")
	require.Contains(t, plain(t, "127.0.1.0", srv.Addr, "bob", "pw-bob"), "<success", "other accounts stay open")
	require.Contains(t, plain(t, "127.0.1.9", srv.Addr, "alice", "pw-alice"), "<success", "a clean address logs in")
}

// TestComponentHandshakeThrottled: wrong component handshakes from one
// address are checked until the limit, then refused; a component from
// another address connects.
func TestComponentHandshakeThrottled(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{
		Components: map[string]string{compDomain: compSecret},
		Limits:     server.Limits{Throttle: throttle.Config{AddrFailures: 3, AccountFailures: 100}},
	})
	hdr := `<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='` + compDomain + `'>`
	checked, refused := 0, 0
	for range 10 {
		c := dialFrom(t, "127.0.0.1", srv.ComponentAddr)
		got := c.send(hdr, "id=", closed)
		if !strings.Contains(got, "<stream:error>") {
			got = c.send("<handshake>0000000000000000000000000000000000000000</handshake>", closed)
		}
		switch {
		case strings.Contains(got, streamError(stream.NotAuthorized)):
			checked++
		case strings.Contains(got, streamError(stream.PolicyViolation)):
			refused++
		default:
			t.Fatalf("unexpected answer: %s", got)
		}
	}
	require.Equal(t, 3, checked)
	require.Equal(t, 7, refused)
	c := dialFrom(t, "127.0.0.2", srv.ComponentAddr)
	got := c.send(hdr, "id=", closed)
	id := got[strings.Index(got, "id=")+4:]
	id = id[:strings.IndexAny(id, `"'`)]
	require.Contains(t, c.send("<handshake>"+handshake(id, compSecret)+"</handshake>", "<handshake/>", closed), "<handshake/>")
}

// handshake is the XEP-0114 §3 proof: hex(SHA-1(stream id + secret)).
func handshake(id, secret string) string {
	sum := sha1.Sum([]byte(id + secret)) //nolint:gosec // XEP-0114 §3.
	return hex.EncodeToString(sum[:])
}
