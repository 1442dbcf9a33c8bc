package server_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
)

// presenceFrom matches presence of the given type from exactly from.
func presenceFrom(from, typ string) func(packet.Packet) bool {
	return func(p packet.Packet) bool {
		return p.Kind == packet.Presence && p.From.String() == from && p.Type == typ
	}
}

func TestSubscriptionHandshake(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{})
	alice := srv.Login(t, "alice", testclient.Resource("pc"))
	bob := srv.Login(t, "bob", testclient.Resource("pc"))

	// RFC 6121 §3.1: request, kept in the roster with ask.
	alice.Send(t, `<presence type="subscribe" to="bob@localhost"/>`)
	push := alice.Expect(t, "roster push", testclient.Contains(packet.IQ, `jid="bob@localhost"`, `ask="subscribe"`))
	require.Contains(t, raw(push), `subscription="none"`)
	req := bob.Expect(t, "subscription request", testclient.Kind(packet.Presence, "subscribe"))
	require.Equal(t, "alice@localhost", req.From.String(), "stamped with the bare JID")

	// Approval: both rosters change, alice learns bob's presence.
	bob.Send(t, `<presence type="subscribed" to="alice@localhost"/>`)
	bob.Expect(t, "roster push", testclient.Contains(packet.IQ, `jid="alice@localhost"`, `subscription="from"`))
	alice.Expect(t, "roster push", testclient.Contains(packet.IQ, `jid="bob@localhost"`, `subscription="to"`))
	alice.Expect(t, "subscribed", presenceFrom("bob@localhost", "subscribed"))
	alice.Expect(t, "bob's presence", presenceFrom("bob@localhost/pc", ""))

	// Broadcast follows the subscription: bob's changes reach alice, and
	// alice's do not reach bob (subscription "to" only).
	bob.Send(t, `<presence><show>dnd</show></presence>`)
	p := alice.Expect(t, "bob's new presence", presenceFrom("bob@localhost/pc", ""))
	require.Contains(t, raw(p), "<show>dnd</show>")
	alice.Send(t, `<presence><show>away</show></presence>`)
	alice.Ping(t)
	bob.Ping(t)
	bob.ExpectNone(t, "alice's presence", presenceFrom("alice@localhost/pc", ""))

	// A probe on login: a new resource of alice gets bob's presence.
	alice2 := srv.Login(t, "alice", testclient.Resource("phone"))
	alice2.Expect(t, "bob's presence on login", presenceFrom("bob@localhost/pc", ""))

	// Going offline is broadcast (RFC 6121 §4.5.2).
	bob.Close(t)
	alice.Expect(t, "bob offline", presenceFrom("bob@localhost/pc", "unavailable"))

	// Unsubscribe: the roster follows.
	alice.Send(t, `<presence type="unsubscribe" to="bob@localhost"/>`)
	alice.Expect(t, "roster push", testclient.Contains(packet.IQ, `jid="bob@localhost"`, `subscription="none"`))
}

func TestRosterRemoveEndsSubscriptions(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{})
	alice := srv.Login(t, "alice")
	bob := srv.Login(t, "bob")
	alice.Send(t, `<presence type="subscribe" to="bob@localhost"/>`)
	bob.Expect(t, "subscription request", testclient.Kind(packet.Presence, "subscribe"))
	bob.Send(t, `<presence type="subscribed" to="alice@localhost"/>`)
	alice.Expect(t, "roster push", testclient.Contains(packet.IQ, `jid="bob@localhost"`, `subscription="to"`))

	// RFC 6121 §2.5.2: removing the item unsubscribes, and bob's roster
	// follows.
	alice.Send(t, `<iq type="set" id="rm"><query xmlns="jabber:iq:roster"><item jid="bob@localhost" subscription="remove"/></query></iq>`)
	require.Equal(t, "result", alice.Expect(t, "remove result", testclient.ByID("rm")).Type)
	bob.Expect(t, "unsubscribe", presenceFrom("alice@localhost", "unsubscribe"))
	bob.Expect(t, "roster push", testclient.Contains(packet.IQ, `jid="alice@localhost"`, `subscription="none"`))
}

func TestSubscriptionRequestWhileOffline(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{})
	alice := srv.Login(t, "alice")
	alice.Send(t, `<presence type="subscribe" to="carol@localhost"/>`)
	alice.Expect(t, "roster push", testclient.Contains(packet.IQ, `jid="carol@localhost"`, `ask="subscribe"`))
	carol := srv.Login(t, "carol")
	req := carol.Expect(t, "stored subscription request", testclient.Kind(packet.Presence, "subscribe"))
	require.Equal(t, "alice@localhost", req.From.String())
}

func TestBlocking(t *testing.T) {
	srv, _ := startMIX(t)
	alice := login(t, srv, "alice", true, "mix")
	bob := login(t, srv, "bob", true, "mix")
	require.Equal(t, "result", join(t, alice, "j1", coven).Type)
	require.Equal(t, "result", join(t, bob, "j2", coven).Type)

	// alice's client fetches the blocklist, as clients that support
	// blocking do: from then on it gets the pushes (XEP-0191 §3.2).
	alice.Send(t, `<iq type="get" id="bl"><blocklist xmlns="urn:xmpp:blocking"/></iq>`)
	require.Equal(t, "result", alice.Expect(t, "blocklist", testclient.ByID("bl")).Type)

	// Blocking the channel blocks its participants' traffic (XEP-0405
	// §2.12).
	alice.Send(t, `<iq type="set" id="b1"><block xmlns="urn:xmpp:blocking"><item jid="`+coven+`"/></block></iq>`)
	require.Equal(t, "result", alice.Expect(t, "block result", testclient.ByID("b1")).Type)
	alice.Expect(t, "block push", testclient.Contains(packet.IQ, `<block xmlns="urn:xmpp:blocking"`))
	bob.Send(t, `<message type="groupchat" to="`+coven+`" id="g1"><body>blocked words</body></message>`)
	bob.Expect(t, "own groupchat reflected", testclient.Contains(packet.Message, "blocked words"))
	alice.Ping(t)
	alice.ExpectNone(t, "groupchat from a blocked channel", testclient.Contains(packet.Message, "blocked words"))

	// A blocked contact's messages bounce; messages to it are refused with
	// <blocked/> (XEP-0191 §3.3).
	alice.Send(t, `<iq type="set" id="b2"><block xmlns="urn:xmpp:blocking"><item jid="bob@localhost"/></block></iq>`)
	require.Equal(t, "result", alice.Expect(t, "block result", testclient.ByID("b2")).Type)
	bob.Send(t, `<message type="chat" to="alice@localhost" id="c1"><body>hi</body></message>`)
	bounce := bob.Expect(t, "bounce", testclient.ByID("c1"))
	require.Equal(t, "error", bounce.Type)
	require.Contains(t, raw(bounce), "service-unavailable")
	alice.Send(t, `<message type="chat" to="bob@localhost" id="c2"><body>hi</body></message>`)
	refused := alice.Expect(t, "refusal", testclient.ByID("c2"))
	require.Equal(t, "error", refused.Type)
	require.Contains(t, raw(refused), `<blocked xmlns="urn:xmpp:blocking:errors"`)

	// Unblocking everything lets the channel through again.
	alice.Send(t, `<iq type="set" id="b3"><unblock xmlns="urn:xmpp:blocking"/></iq>`)
	require.Equal(t, "result", alice.Expect(t, "unblock result", testclient.ByID("b3")).Type)
	bob.Send(t, `<message type="groupchat" to="`+coven+`" id="g2"><body>welcome back</body></message>`)
	alice.Expect(t, "groupchat after unblock", testclient.Contains(packet.Message, "welcome back"))
}

func TestResourceConflictReplacesSession(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{})
	bob := srv.Login(t, "bob", testclient.Resource("pc"))
	old := srv.Login(t, "alice", testclient.Resource("pc"))
	replacement := srv.Login(t, "alice", testclient.Resource("pc"))
	_ = old.Ended(t)
	require.Contains(t, old.Received(), "<conflict xmlns=\"urn:ietf:params:xml:ns:xmpp-streams\"/>")
	replacement.Ping(t)

	// The new session is the one routed to.
	bob.Send(t, `<message type="chat" to="alice@localhost/pc" id="c1"><body>to the new one</body></message>`)
	replacement.Expect(t, "message", testclient.ByID("c1"))
}

func TestChatToBareJIDGoesToHighestPriority(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{})
	high := srv.Login(t, "alice", testclient.Resource("high"), testclient.NoPresence())
	low := srv.Login(t, "alice", testclient.Resource("low"), testclient.NoPresence())
	high.Send(t, `<presence><priority>10</priority></presence>`)
	low.Send(t, `<presence><priority>1</priority></presence>`)
	high.Ping(t)
	low.Ping(t)
	bob := srv.Login(t, "bob")
	bob.Send(t, `<message type="chat" to="alice@localhost" id="c1"><body>hello</body></message>`)
	high.Expect(t, "chat", testclient.ByID("c1"))
	bob.Ping(t)
	low.Ping(t)
	low.ExpectNone(t, "chat on the lower priority", testclient.ByID("c1"))

	// Nobody online: the message bounces (no offline storage).
	bob.Send(t, `<message type="chat" to="carol@localhost" id="c2"><body>hello</body></message>`)
	require.Equal(t, "error", bob.Expect(t, "bounce", testclient.ByID("c2")).Type)
	bob.Send(t, `<message type="chat" to="nobody@localhost" id="c3"><body>hello</body></message>`)
	require.Equal(t, "error", bob.Expect(t, "bounce", testclient.ByID("c3")).Type)
}
