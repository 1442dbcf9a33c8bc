package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/component"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
)

// wait bounds every wait of these tests for something a peer can see.
const wait = 10 * time.Second

// banner collects what run prints and tells when the banner is complete.
type banner struct {
	mu   sync.Mutex
	b    strings.Builder
	done chan struct{}
}

func (b *banner) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.Write(p)
	if strings.Contains(b.b.String(), "Stop with Ctrl-C.") && b.done != nil {
		close(b.done)
		b.done = nil
	}
	return len(p), nil
}

// testServer runs the server in-process on free loopback ports with alice
// (password "pa") and a component mix.localhost (secret "s3"); it returns
// the client and component addresses and stops the server at the end.
func testServer(t *testing.T) (c2s, comp string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	out := &banner{done: make(chan struct{})}
	ready := out.done
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"-listen", "127.0.0.1:0", "-component-listen", "127.0.0.1:0",
			"-user", "alice:pa", "-component", "mix.localhost=s3"}, out, new(bytes.Buffer))
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-errc)
	})
	select {
	case <-ready:
	case err := <-errc:
		t.Fatalf("run: %v", err)
	}
	text := out.b.String()
	require.Contains(t, text, "alice@localhost  password pa", "the banner lists the accounts")
	c2s = regexp.MustCompile(`clients on (\S+)`).FindStringSubmatch(text)[1]
	comp = regexp.MustCompile(`XEP-0114\) on (\S+)`).FindStringSubmatch(text)[1]
	return c2s, comp
}

// remote is a client or a component as the test drives it: it sends raw XML
// and waits for stanzas by what they contain.
type remote struct {
	s       *xmpp.Session
	full    string // the JID the session is bound to
	in      chan string
	skipped []string // stanzas expect passed over
}

func newRemote(t *testing.T, s *xmpp.Session) *remote {
	p := &remote{s: s, full: s.LocalAddr().String(), in: make(chan string, 100)}
	t.Cleanup(func() { _ = s.Close() })
	go func() {
		r := s.TokenReader()
		defer r.Close()
		for {
			tok, err := r.Token()
			if err != nil {
				close(p.in)
				return
			}
			start, ok := tok.(xml.StartElement)
			if !ok {
				continue
			}
			raw, err := host.AppendStanza(nil, xmlstream.Wrap(xmlstream.Inner(r), start))
			if err != nil {
				close(p.in)
				return
			}
			p.in <- string(raw)
		}
	}()
	return p
}

// login connects alice with PLAIN over STARTTLS (mellium's client asks
// for no resource: the server picks one).
func login(t *testing.T, addr, password string) (*remote, error) {
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	s, err := xmpp.NewClientSession(ctx, jid.MustParse("alice@localhost"), conn,
		xmpp.StartTLS(&tls.Config{InsecureSkipVerify: true, ServerName: "localhost"}), //nolint:gosec // self-signed test certificate
		xmpp.SASL("", password, sasl.Plain), xmpp.BindResource())
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	return newRemote(t, s), nil
}

// connectComponent connects the test as the component mix.localhost.
func connectComponent(t *testing.T, addr, secret string) (*remote, error) {
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	s, err := component.NewSession(ctx, jid.MustParse("mix.localhost"), []byte(secret), conn)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	return newRemote(t, s), nil
}

func (p *remote) send(t *testing.T, raw string) {
	t.Helper()
	require.NoError(t, p.s.Send(t.Context(), xml.NewDecoder(strings.NewReader(raw))))
}

// expect returns the first stanza received that contains every one of
// parts, skipping others.
func (p *remote) expect(t *testing.T, parts ...string) string {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case st, ok := <-p.in:
			require.True(t, ok, "stream closed while waiting for %q", parts)
			if containsAll(st, parts) {
				return st
			}
			p.skipped = append(p.skipped, st)
		case <-deadline:
			t.Fatalf("nothing containing %q within %v", parts, wait)
		}
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// idAttr finds a stanza's id.
var idAttr = regexp.MustCompile(`^<\w+[^>]* id="([^"]+)"`)
