package server_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/disco/info"

	"github.com/mixpam/mixpam/disco"
	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
	"github.com/mixpam/mixpam/ns"
)

// TestCapsChurnOneLookup: a client that changes its XEP-0115 caps with
// every presence gets one disco#info query at a time, for its newest caps,
// not a query (and a goroutine waiting on the server) per presence. The
// client does not answer the queries itself: its library refuses them with
// service-unavailable, so each lookup ends without a result.
func TestCapsChurnOneLookup(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{})
	c := srv.Login(t, "alice", testclient.SilentDisco(), testclient.NoPresence())
	const changes = 50
	ver := func(i int) string { return fmt.Sprintf("%027d=", i) }
	before := runtime.NumGoroutine()
	for i := range changes {
		c.Send(t, `<presence><c xmlns="http://jabber.org/protocol/caps" hash="sha-1" `+
			`node="https://example.org/churn" ver="`+ver(i)+`"/></presence>`)
	}
	c.Expect(t, "a disco#info query for the newest caps", func(p packet.Packet) bool {
		return p.IsRequest() && strings.Contains(string(p.Raw), "churn#"+ver(changes-1))
	})
	c.Ping(t)
	queries := strings.Count(c.Received(), `<query xmlns="http://jabber.org/protocol/disco#info"`)
	require.GreaterOrEqual(t, queries, 1)
	require.Less(t, queries, 10, "disco#info queries for %d caps changes", changes)
	require.Less(t, runtime.NumGoroutine()-before, 10, "goroutines started by %d caps changes", changes)
}

// TestCapsPoisoningFails: an account advertises a MIX client's XEP-0115 ver
// and answers the server's disco#info query with the MIX features moved into
// a data form, which hashes to the same ver (the ambiguity of XEP-0115 §5.1).
// The real MIX client, logging in afterwards with that ver, must still get
// channel traffic, whether the ver was new or cached and then evicted with
// 1,100 fresh vers first.
func TestCapsPoisoningFails(t *testing.T) {
	const node = "https://example.org/real-client"
	victim := testclient.CapsOf(node, ns.MIXCore, ns.PAM)
	for _, tc := range []struct {
		name  string
		evict bool
	}{
		{"ver not cached", false},
		{"ver cached, then evicted", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startWithMIXService(t)
			carol := login(t, srv, "carol", true, "mix")
			carol.Send(t, `<iq type="set" id="c1" to="`+mixDomain+`"><create xmlns="urn:xmpp:mix:core:1" channel="coven"/></iq>`)
			require.Equal(t, "result", carol.Expect(t, "create result", testclient.ByID("c1")).Type)
			require.Equal(t, "result", join(t, carol, "j1", coven).Type)

			realOpts := []testclient.LoginOption{testclient.Caps(node), testclient.MIXCapable(), testclient.Features(ns.PAM), testclient.RecordDisco()}
			if tc.evict {
				first := srv.Login(t, "alice", append(realOpts, testclient.Resource("first"))...)
				first.ExpectCapsQuery(t)
				// The real client's ver is cached as MIX capable: the same
				// software logging in again is not asked, and channel
				// traffic reaches it right after its presence.
				again := srv.Login(t, "alice", append(realOpts, testclient.Resource("again"))...)
				again.Ping(t)
				again.ExpectNone(t, "a disco#info query for a cached ver", testclient.IsDiscoInfoQuery)
				require.Equal(t, "result", join(t, again, "j0", coven).Type)
				carol.Send(t, `<message type="groupchat" to="`+coven+`" id="m0"><body>when shall we three meet again</body></message>`)
				again.Expect(t, "channel traffic on a client whose ver is cached", testclient.Contains(packet.Message, "meet again"))
			}

			poison := `<identity category="client" type="pc"/>` +
				`<feature var="http://jabber.org/protocol/disco#info"/>` +
				`<x xmlns="jabber:x:data" type="result">` +
				`<field var="FORM_TYPE" type="hidden"><value>` + ns.MIXCore + `</value></field>` +
				`<field var="` + ns.PAM + `"/></x>`
			fillers := make(map[string]string) // ver → identity name, for eviction
			if tc.evict {
				for i := range 1100 {
					name := fmt.Sprintf("filler %d", i)
					fillers[fillerVer(t, name)] = name
				}
			}
			mallory := srv.Login(t, "bob", testclient.NoPresence(), testclient.DiscoAnswer(func(node string) string {
				_, ver, _ := strings.Cut(node, "#")
				if name, ok := fillers[ver]; ok {
					return `<identity category="client" type="pc" name="` + name + `"/>`
				}
				return poison
			}))
			for ver := range fillers {
				mallory.Send(t, capsPresence(node, ver))
				mallory.Expect(t, "the disco#info query for a fresh ver", discoQueryFor(ver))
			}
			mallory.Send(t, capsPresence(node, victim.Ver))
			mallory.Expect(t, "the disco#info query for the victim's ver", discoQueryFor(victim.Ver))
			mallory.Ping(t)

			alice := srv.Login(t, "alice", append(realOpts, testclient.Resource("real"))...)
			// The poisoned answer was not cached: the real client is asked
			// itself, and once its answer is applied channel traffic
			// reaches it.
			alice.ExpectCapsQuery(t)
			require.Equal(t, "result", join(t, alice, "j2", coven).Type)
			carol.Send(t, `<message type="groupchat" to="`+coven+`" id="m1"><body>by the pricking of my thumbs</body></message>`)
			msg := alice.Expect(t, "channel traffic on the real MIX client", testclient.Contains(packet.Message, "pricking of my thumbs"))
			require.Equal(t, alice.JID, msg.To)
		})
	}
}

// capsPresence is available presence advertising sha-1 caps ver under node.
func capsPresence(node, ver string) string {
	return `<presence><c xmlns="http://jabber.org/protocol/caps" hash="sha-1" node="` + node + `" ver="` + ver + `"/></presence>`
}

// discoQueryFor matches the server's disco#info query for caps ver.
func discoQueryFor(ver string) func(packet.Packet) bool {
	return func(p packet.Packet) bool {
		return p.IsRequest() && strings.Contains(string(p.Raw), "#"+ver+`"`)
	}
}

// fillerVer is the sha-1 ver of a client with one identity named name.
func fillerVer(t *testing.T, name string) string {
	t.Helper()
	ver, err := disco.VerificationString(disco.Info{Identities: []info.Identity{{Category: "client", Type: "pc", Name: name}}}, "sha-1")
	require.NoError(t, err)
	return ver
}

// TestCapsAnswerAppliesBeforeNextStanza: a MIX client whose caps the server
// does not know answers the server's disco#info query and, in the same
// write, posts to a channel it joined. The server applies the answer before
// the client's next stanza, so the channel's reflection of the post reaches
// the client (XEP-0405 §2.1, §2.2). The large answer makes the race
// certain to be lost without that guarantee: the server would still be
// reading the answer when it fans the reflection out.
func TestCapsAnswerAppliesBeforeNextStanza(t *testing.T) {
	var padding []string
	for i := range 2000 {
		padding = append(padding, fmt.Sprintf("urn:example:padding:%d", i))
	}
	for _, tc := range []struct {
		name     string
		features []string
	}{
		{"small answer", nil},
		{"large answer", padding},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := startMIX(t)
			carol := login(t, srv, "carol", true, "mix")
			require.Equal(t, "result", join(t, carol, "j1", coven).Type)

			// Joined from a client that is not MIX capable, so that the
			// account is a participant before the client logs in.
			plain := login(t, srv, "alice", false, "plain")
			require.Equal(t, "result", join(t, plain, "j2", coven).Type)

			post := `<message type="groupchat" to="` + coven + `" id="p1"><body>fair is foul</body></message>`
			alice := srv.Login(t, "alice", testclient.Resource("mix"), testclient.MIXCapable(), testclient.Features(tc.features...),
				testclient.NoRoster(), testclient.RecordDisco(), testclient.AfterDisco(post))
			alice.Expect(t, "the server's disco#info query", testclient.IsDiscoInfoQuery)
			msg := alice.Expect(t, "the reflection of the post sent right after the answer", testclient.Contains(packet.Message, "fair is foul"))
			require.Equal(t, alice.JID, msg.To)
			carol.Expect(t, "the post", testclient.Contains(packet.Message, "fair is foul"))
			plain.Ping(t)
			plain.ExpectNone(t, "groupchat on a client without MIX", testclient.Contains(packet.Message, "fair is foul"))
		})
	}
}
