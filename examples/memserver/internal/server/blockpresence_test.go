package server_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
)

// presenceWith matches presence of the given type from exactly from whose
// serialisation contains part.
func presenceWith(from, typ, part string) func(packet.Packet) bool {
	return func(p packet.Packet) bool {
		return presenceFrom(from, typ)(p) && strings.Contains(string(p.Raw), part)
	}
}

// blockCommand is an XEP-0191 block or unblock of one JID.
func blockCommand(op, id, item string) string {
	return `<iq type="set" id="` + id + `"><` + op + ` xmlns="urn:xmpp:blocking"><item jid="` + item + `"/></` + op + `></iq>`
}

// XEP-0191 §3.3 and §3.4 between two contacts who share presence both ways,
// seen from their clients.
func TestBlockFollowsContactPresence(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{})
	alice := srv.Login(t, "alice", testclient.Resource("pc"))
	bob := srv.Login(t, "bob", testclient.Resource("pc"))
	for _, pair := range [][2]*testclient.Client{{alice, bob}, {bob, alice}} {
		from, to := pair[0], pair[1]
		from.Send(t, `<presence type="subscribe" to="`+to.JID.Bare().String()+`"/>`)
		to.Expect(t, "subscription request", testclient.Kind(packet.Presence, "subscribe"))
		to.Send(t, `<presence type="subscribed" to="`+from.JID.Bare().String()+`"/>`)
		from.Expect(t, "contact's presence", presenceFrom(to.JID.String(), ""))
	}
	bob.Send(t, `<presence><show>dnd</show></presence>`)
	alice.Expect(t, "bob's dnd", presenceWith("bob@localhost/pc", "", "<show>dnd</show>"))

	// Block: each sees the other go offline.
	alice.Send(t, blockCommand("block", "b1", "bob@localhost"))
	require.Equal(t, "result", alice.Expect(t, "block result", testclient.ByID("b1")).Type)
	alice.Expect(t, "bob offline for alice", presenceFrom("bob@localhost/pc", "unavailable"))
	bob.Expect(t, "alice offline for bob", presenceFrom("alice@localhost/pc", "unavailable"))

	// While blocked, presence goes neither way.
	bob.Send(t, `<presence><show>xa</show></presence>`)
	alice.Send(t, `<presence><show>away</show></presence>`)
	bob.Ping(t)
	alice.Ping(t)
	bob.Ping(t)
	alice.ExpectNone(t, "bob's presence while blocked", presenceFrom("bob@localhost/pc", ""))
	bob.ExpectNone(t, "alice's presence while blocked", presenceFrom("alice@localhost/pc", ""))

	// Unblock: each gets the other's current presence.
	alice.Send(t, blockCommand("unblock", "u1", "bob@localhost"))
	require.Equal(t, "result", alice.Expect(t, "unblock result", testclient.ByID("u1")).Type)
	alice.Expect(t, "bob's current presence", presenceWith("bob@localhost/pc", "", "<show>xa</show>"))
	bob.Expect(t, "alice's current presence", presenceWith("alice@localhost/pc", "", "<show>away</show>"))
}

// XEP-0191 §3.3 and §3.4 for one participant of a channel (XEP-0405 §2.12):
// blocking the encoded JID shows the participant offline to the user's MIX
// client; unblocking shows its presence again, as it is now.
func TestBlockFollowsChannelPresence(t *testing.T) {
	srv := startWithMIXService(t)
	alice := srv.Login(t, "alice", testclient.Resource("mix"), testclient.MIXCapable())
	bob := srv.Login(t, "bob", testclient.Resource("mix"), testclient.MIXCapable())
	alice.Send(t, `<iq type="set" id="c1" to="`+mixDomain+`"><create xmlns="urn:xmpp:mix:core:1" channel="coven"/></iq>`)
	require.Equal(t, "result", alice.Expect(t, "create result", testclient.ByID("c1")).Type)
	require.Equal(t, "result", join(t, alice, "j1", coven).Type)
	require.Equal(t, "result", join(t, bob, "j2", coven).Type)

	bob.Send(t, `<presence><status>brewing</status></presence>`)
	bobInCoven := func(typ, part string) func(packet.Packet) bool {
		return func(p packet.Packet) bool {
			return p.Kind == packet.Presence && p.Type == typ && p.From.Domainpart() == mixDomain &&
				strings.Contains(p.From.Localpart(), "#coven") && p.From.Resourcepart() == "mix" &&
				strings.Contains(string(p.Raw), "bob@localhost") && strings.Contains(string(p.Raw), part)
		}
	}
	seen := alice.Expect(t, "bob's channel presence", bobInCoven("", "brewing"))
	participant := seen.From.Bare().String()

	alice.Send(t, blockCommand("block", "b1", participant))
	require.Equal(t, "result", alice.Expect(t, "block result", testclient.ByID("b1")).Type)
	alice.Expect(t, "bob offline in coven", presenceFrom(seen.From.String(), "unavailable"))

	bob.Send(t, `<presence><status>still brewing</status></presence>`)
	bob.Ping(t)
	alice.Ping(t)
	alice.ExpectNone(t, "bob's channel presence while blocked", bobInCoven("", "still brewing"))

	alice.Send(t, blockCommand("unblock", "u1", participant))
	require.Equal(t, "result", alice.Expect(t, "unblock result", testclient.ByID("u1")).Type)
	alice.Expect(t, "bob's current channel presence", bobInCoven("", "still brewing"))
}
