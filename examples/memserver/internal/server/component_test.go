package server_test

import (
	"context"
	"encoding/xml"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/component"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
)

const (
	compDomain = "chat.localhost"
	compSecret = "s3cret"
)

// externalMIX is a tiny MIX service behind an XEP-0114 component: it
// accepts every join with participant id 9.
type externalMIX struct {
	sess  *xmpp.Session
	ended chan error
	// hold, when not nil, delays every answer until it is closed.
	hold chan struct{}
}

func connectComponent(t *testing.T, srv *testclient.Server, secret string) (*externalMIX, error) {
	return connectHeldComponent(t, srv, secret, nil)
}

// connectHeldComponent connects a component whose answers wait for hold.
func connectHeldComponent(t *testing.T, srv *testclient.Server, secret string, hold chan struct{}) (*externalMIX, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testclient.Timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", srv.ComponentAddr)
	require.NoError(t, err)
	sess, err := component.NewSession(ctx, jid.MustParse(compDomain), []byte(secret), conn)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	m := &externalMIX{sess: sess, ended: make(chan error, 1), hold: hold}
	go func() {
		m.ended <- sess.Serve(xmpp.HandlerFunc(func(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
			p, err := packet.FromStart(*start)
			if err != nil || !p.IsRequest() {
				return err
			}
			if m.hold != nil {
				<-m.hold
			}
			encoded := "9#" + p.To.Bare().String()
			_, err = xmlstream.Copy(t, p.IQ().Result(xmlstream.Wrap(nil, xml.StartElement{
				Name: xml.Name{Space: "urn:xmpp:mix:core:1", Local: "join"},
				Attr: []xml.Attr{{Name: xml.Name{Local: "jid"}, Value: encoded}},
			})))
			return err
		}))
	}()
	t.Cleanup(func() {
		_ = sess.Close()
		_ = conn.Close()
	})
	return m, nil
}

// send sends a groupchat message from the component.
func (m *externalMIX) send(t *testing.T, from, to, body string) {
	t.Helper()
	msg := `<message type="groupchat" from="` + from + `" to="` + to + `" id="` + body + `"><body>` + body + `</body></message>`
	require.NoError(t, m.sess.Send(context.Background(), xml.NewDecoder(strings.NewReader(msg))))
}

func TestExternalComponentServesChannels(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{Components: map[string]string{compDomain: compSecret}})
	_, err := connectComponent(t, srv, "wrong")
	require.Error(t, err, "a wrong secret is refused")
	mix, err := connectComponent(t, srv, compSecret)
	require.NoError(t, err)
	_, err = connectComponent(t, srv, compSecret)
	require.Error(t, err, "a second component for the same domain is refused")

	alice := login(t, srv, "alice", true, "mix")
	res := join(t, alice, "j1", "chan@"+compDomain)
	require.Equal(t, "result", res.Type, raw(res))
	require.Contains(t, raw(res), `jid="9#chan@chat.localhost"`)

	// A channel alice did not join, on the same service: dropped. The
	// component's stanzas are routed in order, so once the next message
	// arrived the spoofed one has been dealt with.
	mix.send(t, "spoof@"+compDomain+"/1", "alice@localhost", "spoofed")
	mix.send(t, "chan@"+compDomain+"/9", "alice@localhost", "genuine")
	msg := alice.Expect(t, "channel message", testclient.Contains(packet.Message, "genuine"))
	require.Equal(t, alice.JID.String(), msg.To.String())
	alice.ExpectNone(t, "message from a channel alice did not join", testclient.Contains(packet.Message, "spoofed"))

	// A component cannot speak for another domain: the stream ends.
	mix.send(t, "coven@mix.localhost/1", "alice@localhost", "forged")
	require.Error(t, <-mix.ended)
	alice.Ping(t)
	alice.ExpectNone(t, "message from a forged domain", testclient.Contains(packet.Message, "forged"))

	// The domain is free again for a new connection.
	_, err = connectComponent(t, srv, compSecret)
	require.NoError(t, err)
}

// TestComponentDuplicateFromEndsStream has a component name two froms, its
// own domain last and a user's first: the stream ends as not well-formed
// rather than the stanza being checked by one from and sent with the other.
func TestComponentDuplicateFromEndsStream(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{Components: map[string]string{compDomain: compSecret}})
	mix, err := connectComponent(t, srv, compSecret)
	require.NoError(t, err)
	bob := login(t, srv, "bob", false, "pc")
	_, err = mix.sess.Conn().Write([]byte(`<message from="alice@localhost/x" from="svc@` + compDomain + `" to="` + bob.JID.String() + `" type="chat" id="dup"><body>forged</body></message>`))
	require.NoError(t, err)
	select {
	case err := <-mix.ended:
		require.Error(t, err)
	case <-time.After(testclient.Timeout):
		require.FailNow(t, "the component stream did not end")
	}
	bob.Ping(t)
	bob.ExpectNone(t, "message with a forged from", testclient.Contains(packet.Message, "forged"))
}

func TestStanzaToAbsentComponent(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{Components: map[string]string{compDomain: compSecret}})
	alice := login(t, srv, "alice", true, "mix")
	res := join(t, alice, "j1", "chan@"+compDomain)
	require.Equal(t, "error", res.Type, raw(res))
	require.Contains(t, raw(res), string(stanza.RemoteServerNotFound))
}

// TestJoinDoesNotBlockSession has the channel sit on a join: the client's
// other stanzas are served meanwhile, and the join is answered once the
// channel answers.
func TestJoinDoesNotBlockSession(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{Components: map[string]string{compDomain: compSecret}})
	hold := make(chan struct{})
	_, err := connectHeldComponent(t, srv, compSecret, hold)
	require.NoError(t, err)
	alice := login(t, srv, "alice", true, "mix")
	alice.Send(t, `<iq type="set" id="j1"><client-join xmlns="urn:xmpp:mix:pam:2" channel="chan@`+compDomain+`"><join xmlns="urn:xmpp:mix:core:1"><nick>alice</nick></join></client-join></iq>`)
	alice.Ping(t)
	alice.Send(t, `<iq type="get" id="r1"><query xmlns="jabber:iq:roster"/></iq>`)
	alice.Expect(t, "roster while the join waits", testclient.ByID("r1"))
	alice.ExpectNone(t, "join answer before the channel's", testclient.ByID("j1"))
	close(hold)
	require.Equal(t, "result", alice.Expect(t, "join answer", testclient.ByID("j1")).Type)
}
