package server_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/examples/memserver/internal/mixservice"
	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/server"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
	"github.com/mixpam/mixpam/host"
)

// TestBuiltInMIXService runs the XEP-0405 flow against the real built-in
// MIX service, which talks to the participant side through the router only.
func TestBuiltInMIXService(t *testing.T) {
	srv := startWithMIXService(t)
	alice := login(t, srv, "alice", true, "mix")
	alicePlain := login(t, srv, "alice", false, "plain")
	bob := login(t, srv, "bob", true, "mix")

	alice.Send(t, `<iq type="set" id="c1" to="`+mixDomain+`"><create xmlns="urn:xmpp:mix:core:1" channel="coven"/></iq>`)
	require.Equal(t, "result", alice.Expect(t, "create result", testclient.ByID("c1")).Type)

	res := join(t, alice, "j1", coven)
	require.Equal(t, "result", res.Type, raw(res))
	require.Contains(t, raw(res), `#coven@mix.localhost"`)
	alicePlain.Expect(t, "roster push", testclient.Contains(packet.IQ, "jabber:iq:roster", `jid="`+coven+`"`))
	require.Equal(t, "result", join(t, bob, "j2", coven).Type)

	alice.Send(t, `<iq type="get" id="r1"><query xmlns="jabber:iq:roster"><annotate xmlns="urn:xmpp:mix:roster:0"/></query></iq>`)
	require.Contains(t, raw(alice.Expect(t, "roster", testclient.ByID("r1"))), `<channel xmlns="urn:xmpp:mix:roster:0" participant-id="`)

	bob.Send(t, `<message type="groupchat" to="`+coven+`" id="b1"><body>Harpier cries</body></message>`)
	msg := alice.Expect(t, "groupchat", testclient.Contains(packet.Message, "Harpier cries"))
	require.Equal(t, alice.JID.String(), msg.To.String())
	require.Contains(t, raw(msg), `<stanza-id xmlns="urn:xmpp:sid:0" by="alice@localhost"`)
	bob.Expect(t, "own groupchat", testclient.Contains(packet.Message, "Harpier cries"))
	bob.Ping(t)
	alicePlain.Ping(t)
	alicePlain.ExpectNone(t, "groupchat on a client without MIX", testclient.Contains(packet.Message, "Harpier cries"))

	// Presence both ways (XEP-0403 through XEP-0405 §2.9).
	alice.Send(t, `<presence><show>away</show></presence>`)
	bob.Expect(t, "alice's channel presence", func(p packet.Packet) bool {
		return p.Kind == packet.Presence && p.From.Domainpart() == mixDomain && p.From.Resourcepart() == "mix" && p.To.Equal(bob.JID)
	})

	alice.Send(t, `<iq type="set" id="l1"><client-leave xmlns="urn:xmpp:mix:pam:2" channel="`+coven+`"><leave xmlns="urn:xmpp:mix:core:1"/></client-leave></iq>`)
	require.Equal(t, "result", alice.Expect(t, "leave result", testclient.ByID("l1")).Type)
	alicePlain.Expect(t, "roster removal", testclient.Contains(packet.IQ, `jid="`+coven+`"`, `subscription="remove"`))
}

// startWithMIXService starts a server whose MIX domain is served by the real
// built-in MIX service, reached through the server's routing.
func startWithMIXService(t *testing.T) *testclient.Server {
	t.Helper()
	return testclient.Start(t, testclient.Options{
		MIXDomain: mixDomain,
		NewMIX: func(r host.RawRouter) server.MIXService {
			return mixservice.New(mixservice.Config{Domain: mixDomain, Router: r})
		},
	})
}
