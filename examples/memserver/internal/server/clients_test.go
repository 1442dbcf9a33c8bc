package server_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
)

// TestOwnerRequestsFromOthersForbidden sends, as bob, the requests that only
// an account's own resources may make to alice's bare JID: each handler
// answers forbidden itself (RFC 6120 §8.3.3.5), as ejabberd does, instead of
// the server answering service-unavailable before the handler sees them.
func TestOwnerRequestsFromOthersForbidden(t *testing.T) {
	srv := startWithMIXService(t)
	_ = srv.Login(t, "alice", testclient.Resource("phone"))
	bob := srv.Login(t, "bob", testclient.Resource("pc"))
	for _, tc := range []struct {
		name, typ, payload, condition string
	}{
		{"client-join", "set", `<client-join xmlns="urn:xmpp:mix:pam:2" channel="` + coven + `"><join xmlns="urn:xmpp:mix:core:1"><subscribe node="urn:xmpp:mix:nodes:messages"/></join></client-join>`, "forbidden"},
		{"client-leave", "set", `<client-leave xmlns="urn:xmpp:mix:pam:2" channel="` + coven + `"><leave xmlns="urn:xmpp:mix:core:1"/></client-leave>`, "forbidden"},
		{"roster get", "get", `<query xmlns="jabber:iq:roster"/>`, "forbidden"},
		{"roster set", "set", `<query xmlns="jabber:iq:roster"><item jid="carol@localhost"/></query>`, "forbidden"},
		{"MAM query", "set", `<query xmlns="urn:xmpp:mam:2"/>`, "forbidden"},
		{"blocklist", "get", `<blocklist xmlns="urn:xmpp:blocking"/>`, "forbidden"},
		{"block", "set", `<block xmlns="urn:xmpp:blocking"><item jid="carol@localhost"/></block>`, "forbidden"},
		// Not a mixpam route: the account does not serve pings for others.
		{"ping", "get", `<ping xmlns="urn:xmpp:ping"/>`, "service-unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "f-" + tc.name
			bob.Send(t, `<iq type="`+tc.typ+`" id="`+id+`" to="alice@localhost">`+tc.payload+`</iq>`)
			res := bob.Expect(t, "answer", testclient.ByID(id))
			require.Equal(t, "error", res.Type, raw(res))
			require.Contains(t, raw(res), `<`+tc.condition+` xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"`, "condition of the answer")
		})
	}
}

// TestBareJIDChatKeepsEverySession sends a chat message to alice's bare JID
// while one of her clients (odd) has not sent presence yet, has a negative
// priority, a lower one or the same as her other client (main), and checks
// who gets it (RFC 6121 §8.5.2.1.1). Afterwards every client that requested
// the roster still gets roster pushes: the delivery must not damage the
// session registry (it once filtered the registry's own list in place, and
// odd vanished from it).
func TestBareJIDChatKeepsEverySession(t *testing.T) {
	for _, tc := range []struct {
		name          string
		oddPriority   *int // nil: no presence
		mainPriority  int
		oddGetsTheMsg bool
	}{
		{"no presence yet", nil, 0, false},
		{"negative priority", ptr(-1), 0, false},
		{"lower priority", ptr(1), 5, false},
		{"equal priority", ptr(3), 3, true},
		{"higher priority", ptr(7), 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testclient.Start(t, testclient.Options{})
			odd := srv.Login(t, "alice", testclient.Resource("odd"), testclient.NoPresence())
			main := srv.Login(t, "alice", testclient.Resource("main"), testclient.NoPresence())
			if tc.oddPriority != nil {
				odd.Send(t, `<presence><priority>`+strconv.Itoa(*tc.oddPriority)+`</priority></presence>`)
			}
			main.Send(t, `<presence><priority>`+strconv.Itoa(tc.mainPriority)+`</priority></presence>`)
			odd.Ping(t)
			main.Ping(t)
			bob := srv.Login(t, "bob", testclient.Resource("pc"))
			bob.Send(t, `<message type="chat" to="alice@localhost" id="c1"><body>hello</body></message>`)
			bob.Ping(t)
			mainGets := tc.oddPriority == nil || *tc.oddPriority <= tc.mainPriority
			if mainGets {
				main.Expect(t, "chat to the bare JID", testclient.ByID("c1"))
			}
			if tc.oddGetsTheMsg {
				odd.Expect(t, "chat to the bare JID", testclient.ByID("c1"))
			}
			odd.Ping(t)
			main.Ping(t)
			if !tc.oddGetsTheMsg {
				odd.ExpectNone(t, "chat to the bare JID", testclient.ByID("c1"))
			}
			if !mainGets {
				main.ExpectNone(t, "chat to the bare JID", testclient.ByID("c1"))
			}

			// Both clients requested the roster at login: both get the
			// push of a contact main adds.
			main.Send(t, `<iq type="set" id="r1"><query xmlns="jabber:iq:roster"><item jid="carol@localhost"/></query></iq>`)
			require.Equal(t, "result", main.Expect(t, "roster set result", testclient.ByID("r1")).Type)
			for _, c := range []*testclient.Client{odd, main} {
				c.Expect(t, "roster push", testclient.Contains(packet.IQ, `jid="carol@localhost"`))
			}
			// And a client that never requested the roster gets none
			// (RFC 6121 §2.1.6).
			quiet := srv.Login(t, "alice", testclient.Resource("quiet"), testclient.NoRoster())
			main.Send(t, `<iq type="set" id="r2"><query xmlns="jabber:iq:roster"><item jid="dave@localhost"/></query></iq>`)
			require.Equal(t, "result", main.Expect(t, "roster set result", testclient.ByID("r2")).Type)
			odd.Expect(t, "roster push", testclient.Contains(packet.IQ, `jid="dave@localhost"`))
			main.Ping(t)
			quiet.Ping(t)
			quiet.ExpectNone(t, "roster push to a client that never requested the roster", testclient.Contains(packet.IQ, "jabber:iq:roster"))
		})
	}
}

func ptr[T any](v T) *T { return &v }
