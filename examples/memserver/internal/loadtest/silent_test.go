package loadtest

import (
	"context"
	"encoding/xml"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/component"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
	"github.com/mixpam/mixpam/pam"
)

// TestReliabilitySilentChannel joins a channel whose service takes every
// stanza and never answers (an XEP-0114 component that reads and drops):
// the client gets remote-server-timeout within the join timeout, its
// roster is unchanged. The server goes on awaiting the channel's late
// answer (pam acts on one for ten request timeouts, so that the roster
// follows what the channel did) until it shuts down, which abandons the
// wait: once the client and the server are gone, no goroutine is left
// over. It waits for pam.DefaultJoinTimeout.
func TestReliabilitySilentChannel(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for pam.DefaultJoinTimeout (30 s); -short leaves it out")
	}
	const silent, secret = "silent.localhost", "s3cret"
	baseline := runtime.NumGoroutine()
	srv := testclient.Start(t, testclient.Options{Components: map[string]string{silent: secret}})

	ctx, cancel := context.WithTimeout(context.Background(), testclient.Timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", srv.ComponentAddr)
	require.NoError(t, err)
	sess, err := component.NewSession(ctx, jid.MustParse(silent), []byte(secret), conn)
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() {
		served <- sess.Serve(xmpp.HandlerFunc(func(r xmlstream.TokenReadEncoder, _ *xml.StartElement) error {
			_, err := xmlstream.Copy(xmlstream.Discard(), r) // read it, answer nothing
			return err
		}))
	}()
	t.Cleanup(func() {
		_ = sess.Close()
		_ = conn.Close()
		<-served
	})

	c := srv.Login(t, "alice", testclient.Resource("phone"), testclient.MIXCapable())
	start := time.Now()
	c.Send(t, joinRequest("silent-join", "room@"+silent, "alice"))
	answer := c.ExpectWithin(t, pam.DefaultJoinTimeout+testclient.Timeout, "client-join answer", testclient.ByID("silent-join"))
	took := time.Since(start)
	require.Equal(t, "error", answer.Type)
	require.Contains(t, string(answer.Raw), "remote-server-timeout")
	require.Less(t, took, pam.DefaultJoinTimeout+testclient.Timeout)

	c.Send(t, `<iq type="get" id="roster"><query xmlns="jabber:iq:roster"/></iq>`)
	roster := string(c.Expect(t, "roster", testclient.ByID("roster")).Raw)
	require.False(t, strings.Contains(roster, silent), roster)
	c.Close(t)
	require.NoError(t, srv.Close())
	_ = sess.Close()
	_ = conn.Close()
	<-served
	served <- nil // for the cleanup
	waitGoroutines(t, baseline)
	t.Logf("client-join to a silent channel answered remote-server-timeout after %s; roster unchanged", took.Round(time.Millisecond))
}
