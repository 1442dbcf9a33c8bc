package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/examples/memserver/internal/accounts"
	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
	"github.com/mixpam/mixpam/internal/pgtest"
	"github.com/mixpam/mixpam/pgstore"
)

const (
	domain    = "localhost"
	mixDomain = "mix.localhost"
	coven     = "coven@mix.localhost"
)

var users = []string{"alice", "bob", "carol", "dave", "erin"}

// testCluster is nodes of one cluster in the test process: one embedded
// NATS server, one PostgreSQL schema, servers on loopback.
type testCluster struct {
	natsURL   string
	pool      *pgxpool.Pool
	store     *accounts.Store
	nodes     map[string]*node
	passwords map[string]string
	// servers are the nodes as clients see them: an address to log in to.
	servers map[string]*testclient.Server
}

// startCluster starts a node for each name and waits until every node
// sees all of them.
func startCluster(t *testing.T, names ...string) *testCluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool := pgtest.Pool(t)
	require.NoError(t, pgstore.Migrate(ctx, pool))
	ns, err := startNATS("127.0.0.1:0", t.TempDir())
	require.NoError(t, err)
	t.Cleanup(ns.Shutdown)

	store := accounts.New()
	passwords := map[string]string{}
	for _, u := range users {
		require.NoError(t, store.Add(u, "pw-"+u))
		passwords[u] = "pw-" + u
	}
	tc := &testCluster{natsURL: ns.ClientURL(), pool: pool, store: store, passwords: passwords,
		nodes: map[string]*node{}, servers: map[string]*testclient.Server{}}
	for _, name := range names {
		tc.add(t, name)
	}
	tc.waitLive(t)
	return tc
}

// add starts a node.
func (tc *testCluster) add(t *testing.T, name string) *node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := startNode(ctx, nodeConfig{
		Name: name, NATS: tc.natsURL, Domain: domain, MIXDomain: mixDomain,
		Listen: "127.0.0.1:0", Accounts: tc.store, Pool: tc.pool,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		if !n.killed {
			require.NoError(t, n.Close())
		}
	})
	tc.nodes[name] = n
	tc.servers[name] = testclient.Remote(n.Addr, domain, tc.passwords)
	return n
}

// waitLive waits until every node sees every other.
func (tc *testCluster) waitLive(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, n := range tc.nodes {
		require.NoError(t, n.cn.WaitLive(ctx, len(tc.nodes)))
	}
}

// login logs name in on node as a MIX-capable client with the given
// resource, and answers the server's caps query.
func (tc *testCluster) login(t *testing.T, nodeName, name, resource string) *testclient.Client {
	t.Helper()
	c := tc.servers[nodeName].Login(t, name, testclient.Resource(resource), testclient.RecordDisco(), testclient.MIXCapable())
	c.ExpectCapsQuery(t)
	return c
}

func join(t *testing.T, c *testclient.Client, id string) {
	t.Helper()
	c.Send(t, `<iq type="set" id="`+id+`"><client-join xmlns="urn:xmpp:mix:pam:2" channel="`+coven+`"><join xmlns="urn:xmpp:mix:core:1"><subscribe node="urn:xmpp:mix:nodes:messages"/><subscribe node="urn:xmpp:mix:nodes:presence"/><nick>`+c.JID.Localpart()+`</nick></join></client-join></iq>`)
	res := c.Expect(t, "client-join answer", testclient.ByID(id))
	require.Equal(t, "result", res.Type, string(res.Raw))
}

func createCoven(t *testing.T, c *testclient.Client) {
	t.Helper()
	c.Send(t, `<iq type="set" id="create" to="`+mixDomain+`"><create xmlns="urn:xmpp:mix:core:1" channel="coven"/></iq>`)
	require.Equal(t, "result", c.Expect(t, "create result", testclient.ByID("create")).Type)
}

func say(t *testing.T, c *testclient.Client, body string) {
	t.Helper()
	c.Send(t, `<message type="groupchat" to="`+coven+`" id="`+body+`"><body>`+body+`</body></message>`)
}

func hears(t *testing.T, c *testclient.Client, body string) packet.Packet {
	t.Helper()
	m := c.Expect(t, c.JID.String()+" hears "+body, testclient.Contains(packet.Message, "<body>"+body+"</body>"))
	require.Equal(t, c.JID.String(), m.To.String())
	return m
}

// archived queries c's archive for groupchat messages (XEP-0313 with
// include-groupchat, XEP-0405 §2.11) and returns the bodies of the results,
// in archive order.
func archived(t *testing.T, c *testclient.Client, id string) []string {
	t.Helper()
	c.Send(t, `<iq type="set" id="`+id+`"><query xmlns="urn:xmpp:mam:2" queryid="`+id+`"><x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE" type="hidden"><value>urn:xmpp:mam:2</value></field><field var="include-groupchat"><value>true</value></field></x><set xmlns="http://jabber.org/protocol/rsm"><max>100</max></set></query></iq>`)
	var bodies []string
	for {
		p := c.Expect(t, "MAM result or answer", func(p packet.Packet) bool {
			return p.ID == id || p.Kind == packet.Message && strings.Contains(string(p.Raw), `queryid="`+id+`"`)
		})
		if p.Kind == packet.IQ {
			require.Equal(t, "result", p.Type, string(p.Raw))
			require.Contains(t, string(p.Raw), `complete="true"`)
			return bodies
		}
		b := bodyRE.FindStringSubmatch(string(p.Raw))
		require.NotNil(t, b, string(p.Raw))
		bodies = append(bodies, b[1])
	}
}

var bodyRE = regexp.MustCompile(`<body>([^<]*)</body>`)

// TestThreeNodes runs XEP-0405 with users spread over three nodes: the
// channel on whichever node owns the MIX domain, each user's joins, roster
// and archive on the user's owner node, and sessions on all three.
func TestThreeNodes(t *testing.T) {
	tc := startCluster(t, "n1", "n2", "n3")
	alice := tc.login(t, "n1", "alice", "a1")
	bob := tc.login(t, "n2", "bob", "b1")
	carol := tc.login(t, "n3", "carol", "c1")
	alice3 := tc.login(t, "n3", "alice", "a3") // alice on two nodes

	createCoven(t, alice)
	for i, c := range []*testclient.Client{alice, bob, carol} {
		join(t, c, fmt.Sprintf("j%d", i))
	}

	// Fan-out: one message from the channel reaches every MIX-capable
	// resource of every participant, on whichever node it is.
	say(t, bob, "first")
	for _, c := range []*testclient.Client{alice, alice3, bob, carol} {
		hears(t, c, "first")
	}

	// Presence across nodes: alice's away reaches bob and carol from the
	// channel (XEP-0405 §2.9).
	alice.Send(t, `<presence><show>away</show></presence>`)
	for _, c := range []*testclient.Client{bob, carol} {
		c.Expect(t, "alice's channel presence", func(p packet.Packet) bool {
			return p.Kind == packet.Presence && p.From.Domainpart() == mixDomain && p.From.Resourcepart() == "a1" &&
				strings.Contains(string(p.Raw), "<show>away</show>")
		})
	}

	// Leave on one node: carol leaves; the next message reaches the
	// others and not her.
	carol.Send(t, `<iq type="set" id="l1"><client-leave xmlns="urn:xmpp:mix:pam:2" channel="`+coven+`"><leave xmlns="urn:xmpp:mix:core:1"/></client-leave></iq>`)
	require.Equal(t, "result", carol.Expect(t, "leave result", testclient.ByID("l1")).Type)
	say(t, alice3, "second")
	for _, c := range []*testclient.Client{alice, alice3, bob} {
		hears(t, c, "second")
	}
	carol.ExpectNone(t, "a message after leaving", testclient.Contains(packet.Message, "<body>second</body>"))

	// MAM: each user's archive holds each message once, whichever node
	// the query reaches.
	require.Equal(t, []string{"first", "second"}, archived(t, alice, "q1"))
	require.Equal(t, []string{"first", "second"}, archived(t, alice3, "q2"))
	require.Equal(t, []string{"first", "second"}, archived(t, bob, "q3"))
	require.Equal(t, []string{"first"}, archived(t, carol, "q4"))
}

// TestNodeDeath kills one node while its users are in a channel with users
// on the other nodes: the others keep talking, the dead node's sessions
// disappear within the bound (a client on another node sees them go), and
// its users, reconnecting to another node, find every message in their
// archives once.
func TestNodeDeath(t *testing.T) {
	tc := startCluster(t, "n1", "n2", "n3")
	// The built-in MIX service keeps its channels in memory, on the owner
	// of its domain: kill another node, the one that owns most of the
	// users, so that their traffic has to find new owners.
	n1 := tc.nodes["n1"].cn
	mixOwner := n1.Owner(jid.MustParse(mixDomain))
	owns := func(id string) (owned []string) {
		for _, u := range []string{"alice", "bob", "dave", "erin"} {
			if n1.Owner(jid.MustParse(u+"@"+domain)) == id {
				owned = append(owned, u)
			}
		}
		return owned
	}
	victim := ""
	for name, n := range tc.nodes {
		if id := n.cn.ID(); id != mixOwner && (victim == "" || len(owns(id)) > len(owns(tc.nodes[victim].cn.ID()))) {
			victim = name
		}
	}
	var survivors []string
	for name := range tc.nodes {
		if name != victim {
			survivors = append(survivors, name)
		}
	}
	t.Logf("killing %s, owner of %v", victim, owns(tc.nodes[victim].cn.ID()))
	alice := tc.login(t, survivors[0], "alice", "a")
	bob := tc.login(t, survivors[1], "bob", "b")
	dave := tc.login(t, victim, "dave", "d")
	erin := tc.login(t, victim, "erin", "e")
	createCoven(t, alice)
	for i, c := range []*testclient.Client{alice, bob, dave, erin} {
		join(t, c, fmt.Sprintf("j%d", i))
	}
	var sent []string
	for i := range 3 {
		body := fmt.Sprintf("before-%d", i)
		say(t, bob, body)
		sent = append(sent, body)
		for _, c := range []*testclient.Client{alice, bob, dave, erin} {
			hears(t, c, body)
		}
	}

	killed := time.Now()
	tc.nodes[victim].Kill()
	require.Error(t, dave.Ended(t), "dave's stream ends with his node")

	// The others keep talking while the dead node's sessions are listed.
	for i := range 3 {
		body := fmt.Sprintf("during-%d", i)
		say(t, bob, body)
		sent = append(sent, body)
		hears(t, alice, body)
		hears(t, bob, body)
	}

	// Purge, as a client sees it: a ping to dave's old session is lost
	// while the cluster lists it on the dead node, and answered
	// service-unavailable (RFC 6121 §8.5.3.2.3) once it is purged.
	purged := false
	for try := 0; !purged && time.Since(killed) < 2*purgeBound; try++ {
		id := fmt.Sprintf("probe-%d", try)
		alice.Send(t, `<iq type="get" id="`+id+`" to="`+dave.JID.String()+`"><ping xmlns="urn:xmpp:ping"/></iq>`)
		p, ok := alice.Wait(100*time.Millisecond, testclient.ByID(id))
		purged = ok && p.Type == "error" && strings.Contains(string(p.Raw), "service-unavailable")
	}
	took := time.Since(killed)
	require.True(t, purged, "dave's session still listed %v after the kill", took)
	require.LessOrEqual(t, took, purgeBound)
	t.Logf("a killed node's session answered as gone %v after the kill", took.Round(10*time.Millisecond))

	// dave and erin reconnect elsewhere and find every message once.
	dave2 := tc.login(t, survivors[0], "dave", "d2")
	erin2 := tc.login(t, survivors[1], "erin", "e2")
	say(t, bob, "after")
	sent = append(sent, "after")
	for _, c := range []*testclient.Client{alice, bob, dave2, erin2} {
		hears(t, c, "after")
	}
	// Exactly once each; the order may differ for the messages handed to
	// the dead owner and handed over again (see the README).
	for _, c := range []*testclient.Client{alice, bob, dave2, erin2} {
		require.ElementsMatch(t, sent, archived(t, c, "q-"+c.JID.Localpart()), c.JID.String())
	}
}

// TestOwnerJoins adds a node to a running cluster: the users whose owner it
// becomes keep their channel presence, because their sessions' nodes tell
// the new owner of them (their presence goes to it, and from it to the
// channels), so that it sends their unavailable presence to their channels
// when they leave.
func TestOwnerJoins(t *testing.T) {
	tc := startCluster(t, "n1", "n2")
	clients := map[string]*testclient.Client{}
	for i, u := range users {
		clients[u] = tc.login(t, []string{"n1", "n2"}[i%2], u, "r")
	}
	createCoven(t, clients["alice"])
	for i, u := range users {
		join(t, clients[u], fmt.Sprintf("j%d", i))
	}
	// Settle: every client hears a message sent after the joins, so the
	// channel presence the joins set off is in their inboxes (the channel
	// sends it first, along the same paths).
	say(t, clients["bob"], "settled")
	for _, u := range users {
		hears(t, clients[u], "settled")
	}
	ownerOf := func(key string) string { return tc.nodes["n1"].cn.Owner(jid.MustParse(key)) }
	before := map[string]string{}
	for _, u := range users {
		before[u] = ownerOf(u + "@" + domain)
	}
	mixOwner := ownerOf(mixDomain)

	// A third node whose ID takes over some user but not the MIX service,
	// whose channels live in memory (node IDs are random: try again).
	var moved string
	for try := 0; moved == ""; try++ {
		require.Less(t, try, 50, "no new node took over a user without the MIX service")
		name := fmt.Sprintf("n3-%d", try)
		n3 := tc.add(t, name)
		tc.waitLive(t)
		if ownerOf(mixDomain) == mixOwner {
			for _, u := range users {
				if ownerOf(u+"@"+domain) == n3.cn.ID() {
					moved = u
					break
				}
			}
		}
		if moved == "" {
			t.Logf("try %d: %s owns the MIX service: %v", try, name, ownerOf(mixDomain) == n3.cn.ID())
			require.NoError(t, n3.Close())
			n3.killed = true // closed
			delete(tc.nodes, name)
			tc.waitLive(t)
			for _, u := range users {
				require.Equal(t, before[u], ownerOf(u+"@"+domain), "owners back as before")
			}
		}
	}
	watcher := clients["alice"]
	if moved == "alice" {
		watcher = clients["bob"]
	}
	mover := clients[moved]
	isMovers := func(typ string) func(packet.Packet) bool {
		return func(p packet.Packet) bool {
			return p.Kind == packet.Presence && p.Type == typ && p.From.Domainpart() == mixDomain &&
				p.From.Resourcepart() == "r" && strings.Contains(string(p.Raw), "<jid>"+moved+"@"+domain+"/r</jid>")
		}
	}
	// The mover's node told the new owner of the mover's session: its
	// presence went from there to the channel, which relays it anew.
	seen := map[string]bool{}
	for _, p := range watcher.TakeAll(isMovers("")) {
		seen[p.ID] = true
	}
	watcher.Expect(t, moved+"'s presence, through the new owner", func(p packet.Packet) bool {
		return isMovers("")(p) && !seen[p.ID]
	})
	// So the new owner tells the channel when the session ends.
	mover.Close(t)
	watcher.Expect(t, moved+"'s unavailable presence", isMovers("unavailable"))
}

// purgeBound is the bound the issue sets on a dead node's sessions.
const purgeBound = 5 * time.Second
