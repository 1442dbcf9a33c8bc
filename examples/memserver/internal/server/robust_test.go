package server_test

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/stream"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
)

const header = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`

// TestStreamErrorsBeforeLogin sends broken streams to a fresh connection:
// each gets its stream error and the connection is closed.
func TestStreamErrorsBeforeLogin(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{TLS: true, MaxStanza: 4096})
	for _, tc := range []struct {
		name, send, want string
	}{
		{"unknown host", strings.Replace(header, "to='localhost'", "to='example.org'", 1), "<host-unknown"},
		{"wrong namespace", strings.Replace(header, "jabber:client", "jabber:server", 1), "<invalid-namespace"},
		{"old version", strings.Replace(header, "version='1.0'>", "version='0.9'>", 1), "<unsupported-version"},
		{"bad XML declaration", strings.Replace(header, "<?xml version='1.0'?>", "<?xml version='0.9'?>", 1), "<not-well-formed"},
		{"not XML", "hello there\n", "<not-well-formed"},
		{"not a stream", "<html><body/></html>", "<invalid-namespace"},
		{"doctype", "<?xml version='1.0'?><!DOCTYPE foo [<!ENTITY a 'b'>]>", "<restricted-xml"},
		{"auth before TLS", header + `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHB3LWFsaWNl</auth>`, "<policy-violation"},
		{"oversize element", header + "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>" + strings.Repeat("x", 8192), "<policy-violation"},
		{"stanza before TLS", header + "<message to='bob@localhost'><body>hi</body></message>", "<policy-violation"},
		{"bytes after starttls", header + "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><message/>", "<policy-violation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := testclient.Raw(t, srv.Addr, tc.send)
			require.Contains(t, got, "<stream:stream")
			require.Contains(t, got, tc.want)
			require.True(t, strings.HasSuffix(got, "</stream:stream>"), got)
		})
	}
}

// TestStreamErrorsAfterLogin sends broken XML on a bound session: the
// session ends with the right stream error and the server goes on.
func TestStreamErrorsAfterLogin(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{MaxStanza: 4096})
	for _, tc := range []struct {
		name, send string
		want       stream.Error
	}{
		{"malformed", "<message><body>x</message>", stream.NotWellFormed},
		{"oversize", "<message to='bob@localhost'><body>" + strings.Repeat("a", 5000) + "</body></message>", stream.PolicyViolation},
		{"unknown element", "<foo xmlns='urn:example:foo'/>", stream.UnsupportedStanzaType},
		{"unknown stanza name", "<query/>", stream.UnsupportedStanzaType},
		{"comment", "<!-- hello -->", stream.RestrictedXML},
		{"text between stanzas", "hello", stream.NotWellFormed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := srv.Login(t, "alice")
			c.WriteRaw(t, tc.send)
			_ = c.Ended(t)
			require.Contains(t, c.Received(), "<stream:error><"+tc.want.Err+" xmlns=\"urn:ietf:params:xml:ns:xmpp-streams\"/>")
			require.True(t, strings.HasSuffix(c.Received(), "</stream:stream>"))
		})
	}
	c := srv.Login(t, "bob")
	c.Ping(t)
}

// TestKeepaliveAndLegacySession checks whitespace keepalives and the legacy
// <session/> IQ.
func TestKeepaliveAndLegacySession(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{MaxStanza: 4096})
	c := srv.Login(t, "alice")
	for range 20 {
		// 20 × 300 bytes of whitespace: more than the stanza limit in all,
		// but each keepalive counts alone.
		c.WriteRaw(t, strings.Repeat(" ", 300))
	}
	c.Send(t, `<iq type="set" id="s1" to="localhost"><session xmlns="urn:ietf:params:xml:ns:xmpp-session"/></iq>`)
	require.Equal(t, "result", c.Expect(t, "session result", testclient.ByID("s1")).Type)
	c.Ping(t)
}

// TestIQMatrix sends IQs of every type, with several payloads, to every kind
// of entity: every request gets exactly one answer, nothing else does, and
// the server keeps serving.
func TestIQMatrix(t *testing.T) {
	srv, _ := startMIX(t)
	alice := login(t, srv, "alice", true, "mix")
	bob := login(t, srv, "bob", false, "pc")
	targets := []string{
		"", "alice@localhost", alice.JID.String(), "bob@localhost", bob.JID.String(),
		"bob@localhost/gone", "nobody@localhost", "localhost", "localhost/res",
		mixDomain, coven, "example.org", "alice@example.org/x",
	}
	payloads := []string{
		`<ping xmlns="urn:xmpp:ping"/>`,
		`<query xmlns="urn:example:unknown"/>`,
		`<query xmlns="http://jabber.org/protocol/disco#info"/>`,
		`<query xmlns="jabber:iq:roster"/>`,
		`<client-join xmlns="urn:xmpp:mix:pam:2"/>`,
		`<query xmlns="urn:xmpp:mam:2"/>`,
		`<blocklist xmlns="urn:xmpp:blocking"/>`,
		`<a xmlns="urn:example:a"/><b xmlns="urn:example:b"/>`,
		``,
	}
	n := 0
	for _, typ := range []string{"get", "set", "result", "error", "bogus"} {
		for _, to := range targets {
			for _, payload := range payloads {
				n++
				id := fmt.Sprintf("m%d", n)
				toAttr := ""
				if to != "" {
					toAttr = ` to="` + to + `"`
				}
				alice.Send(t, `<iq type="`+typ+`" id="`+id+`"`+toAttr+`>`+payload+`</iq>`)
				if typ == "get" || typ == "set" || typ == "bogus" {
					alice.Expect(t, "answer to "+id+" ("+typ+" to "+to+": "+payload+")", answerTo(id))
				}
			}
		}
	}
	alice.Ping(t)
	alice.ExpectNone(t, "IQ request or second answer", func(p packet.Packet) bool {
		// alice's requests to herself reach her, which is right.
		return p.Kind == packet.IQ && strings.HasPrefix(p.ID, "m") && p.From.String() != alice.JID.String()
	})
	bob.Ping(t)
}

// TestRapidConnections opens and drops 1,000 connections in many broken ways
// (and logs in and out some real clients): the server survives, and once
// idle it has no more goroutines than before.
func TestRapidConnections(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{MaxStanza: 4096})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, srv.WaitIdle(ctx))
	baseline := runtime.NumGoroutine()

	sends := []string{
		"",
		header,
		header[:40],
		"<<<<",
		header + "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>",
		header + "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHdyb25n</auth>",
		header + "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>biwsbj1hbGljZSxyPWFiYw==</auth>",
		header + strings.Repeat("<a>", 5000),
	}
	const total, workers = 1000, 8
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				conn, err := net.Dial("tcp", srv.Addr)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = conn.Write([]byte(sends[i%len(sends)]))
				_ = conn.Close()
			}
		})
	}
	for i := range total {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	for range 10 {
		c := srv.Login(t, "alice", testclient.MIXCapable())
		c.Ping(t)
		c.Close(t)
	}
	require.NoError(t, srv.WaitIdle(ctx))
	// WaitIdle returns once the last goroutine has said it is done; it may
	// not have exited yet. Yield until it has (bounded).
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > baseline && time.Now().Before(deadline); {
		runtime.Gosched()
	}
	if n := runtime.NumGoroutine(); n > baseline {
		var b strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
		require.LessOrEqual(t, n, baseline, "goroutines left behind:\n%s", b.String())
	}
	srv.Login(t, "bob").Ping(t)
}

// answerTo matches the result or error with the given id.
func answerTo(id string) func(packet.Packet) bool {
	return func(p packet.Packet) bool {
		return p.Kind == packet.IQ && p.ID == id && (p.Type == "result" || p.Type == "error")
	}
}
