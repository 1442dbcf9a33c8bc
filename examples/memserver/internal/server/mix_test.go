package server_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
)

const (
	mixDomain = "mix.localhost"
	coven     = "coven@mix.localhost"
)

// startMIX starts a server with the fake built-in MIX service.
func startMIX(t *testing.T) (*testclient.Server, *testclient.FakeMIX) {
	t.Helper()
	var mix *testclient.FakeMIX
	srv := testclient.Start(t, testclient.Options{MIXDomain: mixDomain, NewMIX: testclient.NewFakeMIX(mixDomain, &mix)})
	return srv, mix
}

// login logs a client in as a client does: roster, then initial presence
// without caps, which the server answers with a disco#info query (XEP-0405
// §2.1; every time, as the presence carries no caps). The client answers it
// with its features, MIX among them when mixCapable, and login waits for
// the query and a ping round trip: the server applies what the answer told
// it before the client's next stanza, so afterwards channel traffic reaches
// a MIX-capable client and no other.
func login(t *testing.T, srv *testclient.Server, name string, mixCapable bool, resource string) *testclient.Client {
	t.Helper()
	opts := []testclient.LoginOption{testclient.Resource(resource), testclient.RecordDisco()}
	if mixCapable {
		opts = append(opts, testclient.MIXCapable())
	}
	c := srv.Login(t, name, opts...)
	c.ExpectCapsQuery(t)
	return c
}

// join makes c join channel and returns the client-join result.
func join(t *testing.T, c *testclient.Client, id, channel string) packet.Packet {
	t.Helper()
	c.Send(t, `<iq type="set" id="`+id+`"><client-join xmlns="urn:xmpp:mix:pam:2" channel="`+channel+`"><join xmlns="urn:xmpp:mix:core:1"><subscribe node="urn:xmpp:mix:nodes:messages"/><subscribe node="urn:xmpp:mix:nodes:presence"/><nick>`+c.JID.Localpart()+`</nick></join></client-join></iq>`)
	return c.Expect(t, "client-join answer", testclient.ByID(id))
}

func raw(p packet.Packet) string { return string(p.Raw) }

func TestAccountAdvertisesPAM(t *testing.T) {
	srv, _ := startMIX(t)
	alice := login(t, srv, "alice", true, "phone")
	alice.Send(t, `<iq type="get" id="d1" to="alice@localhost"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)
	res := alice.Expect(t, "disco#info result", testclient.ByID("d1"))
	require.Equal(t, "result", res.Type)
	for _, f := range []string{"urn:xmpp:mix:pam:2", "urn:xmpp:mix:pam:2#archive", "urn:xmpp:mam:2", "urn:xmpp:blocking", "urn:xmpp:sid:0"} {
		require.Contains(t, raw(res), `var="`+f+`"`)
	}
	// Someone else does not see the account's features (XEP-0030 §8).
	bob := login(t, srv, "bob", false, "pc")
	bob.Send(t, `<iq type="get" id="d2" to="alice@localhost"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)
	res = bob.Expect(t, "disco#info answer", testclient.ByID("d2"))
	require.Equal(t, "error", res.Type)
	require.NotContains(t, raw(res), "urn:xmpp:mix:pam:2")
	// The server lists the MIX service (XEP-0369 §6.1).
	bob.Send(t, `<iq type="get" id="d3" to="localhost"><query xmlns="http://jabber.org/protocol/disco#items"/></iq>`)
	res = bob.Expect(t, "disco#items result", testclient.ByID("d3"))
	require.Contains(t, raw(res), `jid="mix.localhost"`)
}

func TestJoinFanOutLeave(t *testing.T) {
	srv, mix := startMIX(t)
	aliceMIX := login(t, srv, "alice", true, "mix")
	alicePlain := login(t, srv, "alice", false, "plain")
	bob := login(t, srv, "bob", true, "mix")

	// client-join: the answer wraps the channel's, and the roster gets
	// the channel (XEP-0405 §2.7, §2.9).
	res := join(t, aliceMIX, "join-1", coven)
	require.Equal(t, "result", res.Type, raw(res))
	require.Contains(t, raw(res), `<client-join xmlns="urn:xmpp:mix:pam:2">`)
	require.Contains(t, raw(res), `jid="1#coven@mix.localhost"`)
	for _, c := range []*testclient.Client{aliceMIX, alicePlain} {
		push := c.Expect(t, "roster push", testclient.Contains(packet.IQ, "jabber:iq:roster", `jid="`+coven+`"`))
		require.Equal(t, "set", push.Type)
		require.NotContains(t, raw(push), "urn:xmpp:mix:roster:0", "no session asked for annotations")
	}
	require.Equal(t, 1, mix.Participants(mustJID(coven)))
	require.Equal(t, "result", join(t, bob, "join-2", coven).Type)

	// Annotation only for the session that asks (XEP-0405 §2.10).
	aliceMIX.Send(t, `<iq type="get" id="r1"><query xmlns="jabber:iq:roster"><annotate xmlns="urn:xmpp:mix:roster:0"/></query></iq>`)
	roster := aliceMIX.Expect(t, "roster result", testclient.ByID("r1"))
	require.Contains(t, raw(roster), `<channel xmlns="urn:xmpp:mix:roster:0" participant-id="1"`)
	alicePlain.Send(t, `<iq type="get" id="r2"><query xmlns="jabber:iq:roster"/></iq>`)
	roster = alicePlain.Expect(t, "roster result", testclient.ByID("r2"))
	require.Contains(t, raw(roster), `jid="`+coven+`"`)
	require.NotContains(t, raw(roster), "urn:xmpp:mix:roster:0")

	// Fan-out to MIX-capable resources only, to rewritten to the full JID,
	// with the archive's stanza-id (XEP-0405 §2.2, §2.11).
	bob.Send(t, `<message type="groupchat" to="`+coven+`" id="b1"><body>Harpier cries</body></message>`)
	msg := aliceMIX.Expect(t, "groupchat", testclient.Contains(packet.Message, "Harpier cries"))
	require.Equal(t, aliceMIX.JID.String(), msg.To.String())
	require.Equal(t, "coven@mix.localhost/2", msg.From.String())
	require.Contains(t, raw(msg), `<stanza-id xmlns="urn:xmpp:sid:0" by="alice@localhost"`)
	bob.Expect(t, "own groupchat reflected", testclient.Contains(packet.Message, "Harpier cries"))
	bob.Ping(t)
	alicePlain.Ping(t)
	alicePlain.ExpectNone(t, "groupchat on a client without MIX", testclient.Contains(packet.Message, "Harpier cries"))

	// client-leave: the roster loses the channel (XEP-0405 §2.8).
	aliceMIX.Send(t, `<iq type="set" id="leave-1"><client-leave xmlns="urn:xmpp:mix:pam:2" channel="`+coven+`"><leave xmlns="urn:xmpp:mix:core:1"/></client-leave></iq>`)
	res = aliceMIX.Expect(t, "client-leave answer", testclient.ByID("leave-1"))
	require.Equal(t, "result", res.Type, raw(res))
	require.Contains(t, raw(res), `<client-leave xmlns="urn:xmpp:mix:pam:2"><leave xmlns="urn:xmpp:mix:core:1"`)
	alicePlain.Expect(t, "roster removal push", testclient.Contains(packet.IQ, `jid="`+coven+`"`, `subscription="remove"`))
	require.Equal(t, 1, mix.Participants(mustJID(coven)))

	// After leaving, the channel's traffic is refused.
	bob.Send(t, `<message type="groupchat" to="`+coven+`" id="b2"><body>after leave</body></message>`)
	bob.Expect(t, "own groupchat reflected", testclient.Contains(packet.Message, "after leave"))
	aliceMIX.Ping(t)
	aliceMIX.ExpectNone(t, "groupchat after leave", testclient.Contains(packet.Message, "after leave"))
}

func TestArchiveWhileOffline(t *testing.T) {
	srv, _ := startMIX(t)
	alice := login(t, srv, "alice", true, "mix")
	bob := login(t, srv, "bob", true, "mix")
	require.Equal(t, "result", join(t, alice, "j1", coven).Type)
	require.Equal(t, "result", join(t, bob, "j2", coven).Type)
	alice.Close(t)

	bob.Send(t, `<message type="groupchat" to="`+coven+`" id="b1"><body>while you were away</body></message>`)
	bob.Expect(t, "own groupchat reflected", testclient.Contains(packet.Message, "while you were away"))

	alice = login(t, srv, "alice", true, "mix")
	alice.Send(t, `<iq type="set" id="q1"><query xmlns="urn:xmpp:mam:2" queryid="f27"><x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE" type="hidden"><value>urn:xmpp:mam:2</value></field><field var="with"><value>`+coven+`</value></field></x></query></iq>`)
	result := alice.Expect(t, "MAM result", testclient.Contains(packet.Message, `queryid="f27"`))
	require.Contains(t, raw(result), "while you were away")
	require.Contains(t, raw(result), `<stanza-id xmlns="urn:xmpp:sid:0" by="alice@localhost"`)
	fin := alice.Expect(t, "MAM fin", testclient.ByID("q1"))
	require.Equal(t, "result", fin.Type, raw(fin))
	require.Contains(t, raw(fin), `complete="true"`)
}

func TestPresenceBothWays(t *testing.T) {
	srv, _ := startMIX(t)
	alice := login(t, srv, "alice", true, "mix")
	bob := login(t, srv, "bob", true, "mix")
	require.Equal(t, "result", join(t, bob, "j1", coven).Type)
	require.Equal(t, "result", join(t, alice, "j2", coven).Type)

	// alice's MIX-capable client shares presence with the channel, which
	// passes it on to the participants (XEP-0405 §2.9.1–2.9.2).
	alice.Send(t, `<presence><show>away</show></presence>`)
	p := bob.Expect(t, "alice's channel presence", testclient.Contains(packet.Presence, "2#coven@mix.localhost/mix"))
	require.Equal(t, bob.JID.String(), p.To.String())

	// Going offline sends unavailable presence to the channel (§2.9.4).
	alice.Close(t)
	bob.Expect(t, "alice's channel unavailable", func(p packet.Packet) bool {
		return p.Kind == packet.Presence && strings.HasPrefix(p.From.String(), "2#coven@") && p.Type == "unavailable"
	})
}
