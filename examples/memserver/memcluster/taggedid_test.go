package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
)

// A peer that learnt a node's tag (every channel sees it on client-joins)
// sends an IQ answer with a tagged id that no request awaits to a session
// on another node. The cluster drops it; before, the two nodes handed it
// back and forth without end (thousands of NATS messages a second). A chat
// round trip between the nodes after it must cost a few NATS messages.
func TestForgedTaggedAnswerDoesNotLoop(t *testing.T) {
	tc := startCluster(t, "n1", "n2")
	alice := tc.login(t, "n1", "alice", "a")
	bob := tc.login(t, "n2", "bob", "b")
	roundTrip := func(id string) {
		alice.Send(t, `<message type="chat" id="`+id+`" to="`+bob.JID.String()+`"><body>`+id+`</body></message>`)
		bob.Expect(t, "alice's chat", testclient.ByID(id))
		bob.Send(t, `<message type="chat" id="`+id+`r" to="`+alice.JID.String()+`"><body>`+id+`</body></message>`)
		alice.Expect(t, "bob's reply", testclient.ByID(id+"r"))
	}
	// What the nodes publish to NATS: stanzas, hand-overs, answers and
	// heartbeats (one per node every TTL/3).
	published := func() uint64 {
		return tc.nodes["n1"].nc.Stats().OutMsgs + tc.nodes["n2"].nc.Stats().OutMsgs
	}

	forged := "mx~" + tc.nodes["n1"].cn.ID() + "~forged"
	alice.Send(t, `<iq type="result" id="`+forged+`" to="`+bob.JID.String()+`"/>`)
	roundTrip("c1")
	before := published()
	roundTrip("c2")
	after := published()
	require.LessOrEqual(t, after-before, uint64(8), "NATS messages published during one chat round trip: 2, and a heartbeat of each node at most (a looping answer adds thousands a second)")
	bob.Ping(t)
	bob.ExpectNone(t, "the forged answer", func(p packet.Packet) bool { return p.ID == forged })
}
