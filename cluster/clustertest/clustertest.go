// Package clustertest is a conformance kit for session registries shared by
// several server nodes (host.Sessions across machines), in the spirit of
// host/hosttest: a change made on one node shows on every other node within
// a bound, and the sessions of a node that dies disappear from the others
// within a bound while the survivors keep serving.
//
// Run host/hosttest.RunSessions against each node as well: it checks the
// contract one node owes its callers (caller-owned slices, flags, reading
// one's own writes).
package clustertest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/kit"
)

// Member is one node of the cluster under test.
type Member struct {
	// Sessions is the node's registry.
	Sessions host.Sessions
	// Flags sets flags through the node. If nil, Sessions must implement
	// host.FlagSetter.
	Flags host.FlagSetter
	// Online binds the session with the given full JID on this node.
	Online func(session jid.JID) error
	// Offline ends the session with the given full JID, bound on this node.
	Offline func(session jid.JID) error
}

// Cluster is a registry shared by several nodes, and the means to kill one.
type Cluster struct {
	// Members are the nodes, at least three, with no session online.
	Members []Member
	// Kill ends member i the way a crash does: it says goodbye to nobody
	// and stops renewing whatever shows it alive. The kit uses the member
	// no more.
	Kill func(i int)
	// Visible bounds the time a change made on one member takes to show
	// on the others.
	Visible time.Duration
	// Purge bounds the time, from Kill, until the dead member's sessions
	// have disappeared from the others.
	Purge time.Duration
}

// Run tests the cluster returned by newCluster, once per subtest.
//
// The registries are eventually consistent across nodes and a registry has
// no event to wait on, so the kit polls each member (every millisecond)
// until it lists what it should, and fails when the bound passes first.
// Each subtest logs the time it saw a dead member's sessions purged in.
func Run(t *testing.T, newCluster func(t *testing.T) Cluster) {
	t.Helper()
	run(kit.FromTesting(t), kit.Adapt(newCluster))
}

func run(t kit.T, newCluster func(t kit.T) Cluster) {
	t.Helper()
	for _, tc := range []struct {
		name string
		f    func(t kit.T, c Cluster)
	}{
		{"VisibleOnOthers", testVisible},
		{"OfflineOnOthers", testOffline},
		{"FlagsOnOthers", testFlags},
		{"PurgeAfterDeath", testPurge},
		{"ReboundElsewhereSurvivesPurge", testRebound},
	} {
		t.Run(tc.name, func(t kit.T) {
			c := newCluster(t)
			if len(c.Members) < 3 || c.Kill == nil || c.Visible <= 0 || c.Purge <= 0 {
				t.Fatalf("clustertest: the cluster needs three members or more, Kill, Visible and Purge")
			}
			for i := range c.Members {
				m := &c.Members[i]
				if m.Sessions == nil || m.Online == nil || m.Offline == nil {
					t.Fatalf("clustertest: member %d needs Sessions, Online and Offline", i)
				}
				if m.Flags == nil {
					f, ok := m.Sessions.(host.FlagSetter)
					if !ok {
						t.Fatalf("clustertest: member %d has no Flags and its Sessions (%T) is not a host.FlagSetter", i, m.Sessions)
					}
					m.Flags = f
				}
			}
			tc.f(t, c)
		})
	}
}

// JIDs the kit uses, from XEP-0405's examples.
var (
	hag66       = jid.MustParse("hag66@shakespeare.example")
	hag66Laptop = jid.MustParse("hag66@shakespeare.example/UUID-a1j/7533")
	hag66Phone  = jid.MustParse("hag66@shakespeare.example/UUID-x4r/2491")
	hag66Other  = jid.MustParse("hag66@shakespeare.example/desktop")
	hag01Laptop = jid.MustParse("hag01@shakespeare.example/UUID-c8y/1573")
	hag01       = hag01Laptop.Bare()
)

func online(t kit.T, m Member, sessions ...jid.JID) {
	t.Helper()
	for _, s := range sessions {
		if err := m.Online(s); err != nil {
			t.Fatalf("bringing %s online: %v", s, err)
		}
	}
}

// listing describes what a member lists for user: full JIDs in order, each
// with its MIX flag.
func listing(t kit.T, m Member, user jid.JID) []string {
	t.Helper()
	rs, err := m.Sessions.Resources(t.Context(), user)
	if err != nil {
		t.Fatalf("Resources(%s): %v", user, err)
	}
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = fmt.Sprintf("%s mix=%v", r.JID, r.MIXCapable)
	}
	return out
}

func want(sessions ...jid.JID) []string {
	out := make([]string, len(sessions))
	for i, s := range sessions {
		out[i] = s.String() + " mix=false"
	}
	return out
}

// converge waits until every member in members lists exactly what match
// accepts for user, within bound, and returns how long that took.
func converge(t kit.T, members []Member, user jid.JID, bound time.Duration, what string, match func([]string) bool) time.Duration {
	t.Helper()
	start := time.Now()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		var last []string
		i := slices.IndexFunc(members, func(m Member) bool {
			last = listing(t, m, user)
			return !match(last)
		})
		if i < 0 {
			return time.Since(start)
		}
		if time.Since(start) > bound {
			t.Fatalf("%s: after %v, member %d lists for %s:\n  %s", what, bound, i, user, strings.Join(last, "\n  "))
		}
		select {
		case <-tick.C:
		case <-t.Context().Done():
			t.Fatalf("%s: %v", what, t.Context().Err())
		}
	}
}

// sameSet accepts a listing holding exactly want, in any order.
func sameSet(want []string) func([]string) bool {
	return func(got []string) bool {
		return len(got) == len(want) && !slices.ContainsFunc(want, func(w string) bool { return !slices.Contains(got, w) })
	}
}

func testVisible(t kit.T, c Cluster) {
	online(t, c.Members[0], hag66Laptop, hag01Laptop)
	online(t, c.Members[1], hag66Phone)
	online(t, c.Members[2], hag66Other)
	converge(t, c.Members, hag66, c.Visible, "sessions bound on three members", sameSet(want(hag66Laptop, hag66Phone, hag66Other)))
	converge(t, c.Members, hag01, c.Visible, "another user's session", sameSet(want(hag01Laptop)))
	// One order on every member, stable (host.Sessions).
	first := listing(t, c.Members[0], hag66)
	converge(t, c.Members, hag66, c.Visible, "the order of a user's sessions on every member", func(got []string) bool { return slices.Equal(got, first) })
}

func testOffline(t kit.T, c Cluster) {
	online(t, c.Members[0], hag66Laptop)
	online(t, c.Members[1], hag66Phone)
	converge(t, c.Members, hag66, c.Visible, "sessions bound on two members", sameSet(want(hag66Laptop, hag66Phone)))
	if err := c.Members[0].Offline(hag66Laptop); err != nil {
		t.Fatalf("taking %s offline: %v", hag66Laptop, err)
	}
	converge(t, c.Members, hag66, c.Visible, "after a session went offline", sameSet(want(hag66Phone)))
	online(t, c.Members[2], hag66Laptop)
	converge(t, c.Members, hag66, c.Visible, "after the session bound again on another member", sameSet(want(hag66Laptop, hag66Phone)))
}

func testFlags(t kit.T, c Cluster) {
	online(t, c.Members[0], hag66Laptop, hag66Phone)
	if err := c.Members[0].Flags.SetMIXCapable(t.Context(), hag66Laptop, true); err != nil {
		t.Fatalf("SetMIXCapable(%s): %v", hag66Laptop, err)
	}
	converge(t, c.Members, hag66, c.Visible, "after SetMIXCapable on the session's member",
		sameSet([]string{hag66Laptop.String() + " mix=true", hag66Phone.String() + " mix=false"}))
}

func testPurge(t kit.T, c Cluster) {
	online(t, c.Members[0], hag66Laptop, hag01Laptop)
	online(t, c.Members[1], hag66Phone)
	converge(t, c.Members, hag66, c.Visible, "sessions before the kill", sameSet(want(hag66Laptop, hag66Phone)))
	converge(t, c.Members, hag01, c.Visible, "sessions before the kill", sameSet(want(hag01Laptop)))
	c.Kill(0)
	start := time.Now()
	survivors := c.Members[1:]
	converge(t, survivors, hag66, c.Purge, "the dead member's sessions purged", sameSet(want(hag66Phone)))
	converge(t, survivors, hag01, c.Purge-time.Since(start), "the dead member's sessions purged", sameSet(nil))
	if l, ok := t.(interface{ Logf(string, ...any) }); ok {
		l.Logf("a dead member's sessions purged from the others %v after the kill", time.Since(start).Round(time.Millisecond))
	}
	// The survivors keep serving.
	online(t, c.Members[2], hag66Other)
	converge(t, survivors, hag66, c.Visible, "a session bound on a survivor after the kill", sameSet(want(hag66Phone, hag66Other)))
}

// testRebound binds a dead member's session again on a survivor before the
// purge (the client reconnected elsewhere): the purge must not take it.
func testRebound(t kit.T, c Cluster) {
	online(t, c.Members[0], hag66Laptop, hag66Phone)
	converge(t, c.Members, hag66, c.Visible, "sessions before the kill", sameSet(want(hag66Laptop, hag66Phone)))
	c.Kill(0)
	survivors := c.Members[1:]
	online(t, c.Members[1], hag66Laptop)
	converge(t, survivors, hag66, c.Purge, "the dead member's other session purged", sameSet(want(hag66Laptop)))
	// Every survivor has purged the dead member by now; the deletions it
	// makes in the shared store follow. Hold the listing for the Visible
	// bound, so that a deletion that took the session shows.
	deadline := time.Now().Add(c.Visible)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		for i, m := range survivors {
			if got := listing(t, m, hag66); !sameSet(want(hag66Laptop))(got) {
				t.Fatalf("member %d lost the session bound again on a survivor: lists %v", i+1, got)
			}
		}
		<-tick.C
	}
}
