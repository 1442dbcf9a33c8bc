package server_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
)

// channelPresenceOf matches presence the channel relays for the client
// full, from its encoded participant JID (XEP-0403 §4.1), of type typ, with
// the given texts in it.
func channelPresenceOf(full, typ string, texts ...string) func(packet.Packet) bool {
	contains := testclient.Contains(packet.Presence, append([]string{"<jid>" + full + "</jid>"}, texts...)...)
	return func(p packet.Packet) bool {
		return contains(p) && p.Type == typ && p.From.Domainpart() == mixDomain && p.From.Resourcepart() != ""
	}
}

// TestJoinWhileOnline joins a channel with a MIX client that is already
// online, on the real built-in MIX service, where another participant is
// online (XEP-0405 §2.9, §2.9.3):
//
//   - the joiner gets the other participant's presence, which the channel
//     sends right after the join, possibly before the roster holds the
//     channel;
//   - the other participant gets the joiner's presence without the joiner
//     sending any after the join;
//   - after leaving, the joiner's client is told the other participant's
//     presence is gone.
func TestJoinWhileOnline(t *testing.T) {
	srv := startWithMIXService(t)
	alice := login(t, srv, "alice", true, "mix")
	alice.Send(t, `<iq type="set" id="c1" to="`+mixDomain+`"><create xmlns="urn:xmpp:mix:core:1" channel="coven"/></iq>`)
	require.Equal(t, "result", alice.Expect(t, "create result", testclient.ByID("c1")).Type)
	require.Equal(t, "result", join(t, alice, "j1", coven).Type)
	alice.Send(t, `<presence><status>brewing</status></presence>`)
	alice.Expect(t, "alice's own channel presence", channelPresenceOf("alice@localhost/mix", "", "brewing"))

	bob := login(t, srv, "bob", true, "mix")
	bob.Send(t, `<presence><status>warming up</status></presence>`)
	res := join(t, bob, "j2", coven)
	require.Equal(t, "result", res.Type, raw(res))

	bob.Expect(t, "alice's presence after bob's join", channelPresenceOf("alice@localhost/mix", "", "brewing"))
	alice.Expect(t, "bob's presence after his join", channelPresenceOf("bob@localhost/mix", "", "warming up"))

	bob.Send(t, `<iq type="set" id="l1"><client-leave xmlns="urn:xmpp:mix:pam:2" channel="`+coven+`"><leave xmlns="urn:xmpp:mix:core:1"/></client-leave></iq>`)
	require.Equal(t, "result", bob.Expect(t, "leave result", testclient.ByID("l1")).Type)
	gone := bob.Expect(t, "alice's presence gone", func(p packet.Packet) bool {
		return p.Kind == packet.Presence && p.Type == "unavailable" && p.From.Domainpart() == mixDomain
	})
	require.Equal(t, "mix", gone.From.Resourcepart(), "from alice's encoded JID with her client's resource")
	alice.Expect(t, "bob's unavailable presence", channelPresenceOf("bob@localhost/mix", "unavailable"))
}

// TestDirectedPresenceFromPlainClient: a client that does not advertise MIX
// capability sends directed presence to a channel its account joined. It
// must not reach the channel (XEP-0405 §2.9: only presence from clients that
// advertise MIX capability is sent to the channel), so the other
// participants never see that client listed online.
func TestDirectedPresenceFromPlainClient(t *testing.T) {
	srv := startWithMIXService(t)
	alice := login(t, srv, "alice", true, "mix")
	alice.Send(t, `<iq type="set" id="c1" to="`+mixDomain+`"><create xmlns="urn:xmpp:mix:core:1" channel="coven"/></iq>`)
	require.Equal(t, "result", alice.Expect(t, "create result", testclient.ByID("c1")).Type)
	require.Equal(t, "result", join(t, alice, "j1", coven).Type)
	bob := login(t, srv, "bob", true, "mix")
	require.Equal(t, "result", join(t, bob, "j2", coven).Type)
	alicePlain := login(t, srv, "alice", false, "plain")

	for _, typ := range []string{"", "unavailable", "probe"} {
		attr := ""
		if typ != "" {
			attr = ` type="` + typ + `"`
		}
		alicePlain.Send(t, `<presence to="`+coven+`"`+attr+`><status>sneaking in</status></presence>`)
	}
	alicePlain.Ping(t)
	// A later presence of alice's MIX client, which the channel relays
	// after anything it got before.
	alice.Send(t, `<presence><status>brewing</status></presence>`)
	bob.Expect(t, "alice's MIX client's presence", channelPresenceOf("alice@localhost/mix", "", "brewing"))
	bob.Ping(t)
	bob.ExpectNone(t, "the plain client listed by the channel", testclient.Contains(packet.Presence, "<jid>alice@localhost/plain</jid>"))
	alicePlain.ExpectNone(t, "channel presence on the plain client", func(p packet.Packet) bool {
		return p.Kind == packet.Presence && p.From.Domainpart() == mixDomain
	})
}
