package server_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/examples/memserver/internal/mixservice"
	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/server"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/roster"
)

// TestResourceQuota: an account binds at most MaxResources resources at
// once; one more is refused (resource-constraint, RFC 6120 §7.6.2.1) and
// its stream ends, while binding a resource already bound still replaces
// the old session (RFC 6120 §7.7.2.2) and other accounts are unaffected.
func TestResourceQuota(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{MaxResources: 2})
	srv.Login(t, "alice", testclient.Resource("a"))
	b := srv.Login(t, "alice", testclient.Resource("b"))

	ctx, cancel := context.WithTimeout(t.Context(), testclient.Timeout)
	defer cancel()
	_, err := srv.Dial(ctx, "alice", testclient.Resource("c"))
	var se stanza.Error
	require.ErrorAs(t, err, &se, "a third resource")
	require.Equal(t, stanza.ResourceConstraint, se.Condition)

	again := srv.Login(t, "alice", testclient.Resource("b"))
	require.ErrorContains(t, b.Ended(t), "conflict", "the old session is replaced")
	again.Ping(t)
	srv.Login(t, "bob", testclient.Resource("c")).Ping(t)
}

// TestRosterAndBlocklistQuotas: a client filling its roster or blocklist
// gets policy-violation beyond the limit, and not-acceptable for an item
// larger than allowed; what it stored before stays.
func TestRosterAndBlocklistQuotas(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{
		Roster:   roster.Limits{MaxItems: 2, MaxItemBytes: 512},
		Blocking: blocking.Limits{MaxItems: 2, MaxItemBytes: 512},
	})
	alice := srv.Login(t, "alice")
	answer := func(id, payload string) string {
		t.Helper()
		alice.Send(t, `<iq type="set" id="`+id+`">`+payload+`</iq>`)
		p := alice.Expect(t, "the answer to "+id, testclient.ByID(id))
		if p.Type == "error" {
			for _, cond := range []string{"policy-violation", "not-acceptable"} {
				if testclient.Contains(packet.IQ, "<"+cond+" ")(p) {
					return cond
				}
			}
			return "error: " + string(p.Raw)
		}
		return p.Type
	}
	long := fmt.Sprintf("%0600d", 0)
	for i, step := range []struct{ payload, want string }{
		{`<query xmlns="jabber:iq:roster"><item jid="a@example.net"/></query>`, "result"},
		{`<query xmlns="jabber:iq:roster"><item jid="b@example.net"/></query>`, "result"},
		{`<query xmlns="jabber:iq:roster"><item jid="c@example.net"/></query>`, "policy-violation"},
		{`<query xmlns="jabber:iq:roster"><item jid="a@example.net" name="` + long + `"/></query>`, "not-acceptable"},
		{`<block xmlns="urn:xmpp:blocking"><item jid="a@example.org"/><item jid="b@example.org"/></block>`, "result"},
		{`<block xmlns="urn:xmpp:blocking"><item jid="c@example.org"/></block>`, "policy-violation"},
		{`<unblock xmlns="urn:xmpp:blocking"><item jid="a@example.org"/></unblock>`, "result"},
		{`<block xmlns="urn:xmpp:blocking"><item jid="c@example.org/` + long + `"/></block>`, "not-acceptable"},
	} {
		require.Equal(t, step.want, answer(fmt.Sprintf("q%d", i), step.payload), step.payload)
	}
	alice.Send(t, `<iq type="get" id="r"><query xmlns="jabber:iq:roster"/></iq>`)
	roster := alice.Expect(t, "the roster", testclient.ByID("r"))
	require.Contains(t, string(roster.Raw), `jid="a@example.net"`)
	require.Contains(t, string(roster.Raw), `jid="b@example.net"`)
	require.NotContains(t, string(roster.Raw), `jid="c@example.net"`)
}

// TestJoinWithFullRoster: a join the channel accepts but the full roster
// cannot record is undone and answered policy-violation, without retries.
func TestJoinWithFullRoster(t *testing.T) {
	srv := testclient.Start(t, testclient.Options{
		MIXDomain: mixDomain,
		NewMIX: func(r host.RawRouter) server.MIXService {
			return mixservice.New(mixservice.Config{Domain: mixDomain, Router: r})
		},
		Roster: roster.Limits{MaxItems: 1},
	})
	alice := login(t, srv, "alice", true, "mix")
	alice.Send(t, `<iq type="set" id="c1" to="`+mixDomain+`"><create xmlns="urn:xmpp:mix:core:1" channel="coven"/></iq>`)
	require.Equal(t, "result", alice.Expect(t, "create result", testclient.ByID("c1")).Type)
	alice.Send(t, `<iq type="set" id="s1"><query xmlns="jabber:iq:roster"><item jid="romeo@example.net"/></query></iq>`)
	require.Equal(t, "result", alice.Expect(t, "roster set result", testclient.ByID("s1")).Type)

	res := join(t, alice, "j1", coven)
	require.Equal(t, "error", res.Type)
	require.Contains(t, raw(res), "<policy-violation ")
	alice.Send(t, `<iq type="get" id="r"><query xmlns="jabber:iq:roster"/></iq>`)
	require.NotContains(t, raw(alice.Expect(t, "the roster", testclient.ByID("r"))), coven)
}
