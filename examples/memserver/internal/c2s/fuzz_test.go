package c2s_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/mixpam/mixpam/examples/memserver/internal/accounts"
	"github.com/mixpam/mixpam/examples/memserver/internal/c2s"
)

// scriptConn is a net.Conn that reads a fixed script and discards writes.
type scriptConn struct {
	io.Reader
}

func (scriptConn) Write(b []byte) (int, error)      { return len(b), nil }
func (scriptConn) Close() error                     { return nil }
func (scriptConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (scriptConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (scriptConn) SetDeadline(time.Time) error      { return nil }
func (scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (scriptConn) SetWriteDeadline(time.Time) error { return nil }

const header = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`

// FuzzNegotiate runs a client-to-server negotiation (TLS off) on arbitrary
// client bytes: it must never panic, and it may only bind after a correct
// authentication.
func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{
		// RFC 6120 §6.4: PLAIN with the right password, then binding.
		header + `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHB3</auth>` + header +
			`<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>`,
		// RFC 5802 §5 client-first-message.
		header + `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>biwsbj11c2VyLHI9ZnlrbytkMmxiYkZnT05Sdjl4a3hkYXdM</auth><response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>Yz1iaXdzLHI9ZnlrbytkMmxiYkZnT05Sdjl4a3hkYXdMM3JmY05IWUpZMVpWdldWczdqLHA9djBYOHYzQnoyVDBDSkdiSlF5RjBYK0hJNFRzPQ==</response>`,
		header + `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'/><response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>cCxhPXgsbj1hbGljZSxyPTE=</response>`,
		header + `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>=</auth><abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>`,
		header + `<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`,
	} {
		f.Add([]byte(s))
	}
	store := accounts.New(accounts.Iterations(1))
	if err := store.Add("alice", "pw"); err != nil {
		f.Fatal(err)
	}
	cfg := c2s.Config{Domain: "localhost", Accounts: store, Timeout: time.Minute}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := c2s.Negotiate(context.Background(), scriptConn{bytes.NewReader(data)}, cfg)
		if err == nil && s.JID.Localpart() != "alice" {
			t.Fatalf("bound %s", s.JID)
		}
	})
}
