package clustertest

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/kit"
)

// shared is a registry that every member reads at once (no replication),
// with a purge whose fault the test picks: the kit's reference for a
// correct cluster, and for broken ones.
type shared struct {
	mu    sync.Mutex
	reg   *host.MemSessions
	node  map[string]int      // full JID → member it is bound on
	ever  map[string]int      // full JID → first member it was bound on
	local []*host.MemSessions // per member, for the local-only fault
}

type fault int

const (
	correct       fault = iota
	localOnly           // each member sees its own sessions only
	neverPurges         // a dead member's sessions stay
	purgesRebound       // the purge takes sessions by where they first bound
)

func newShared(f fault) Cluster {
	s := &shared{reg: host.NewMemSessions(), node: map[string]int{}, ever: map[string]int{}}
	c := Cluster{Visible: 200 * time.Millisecond, Purge: 300 * time.Millisecond}
	for i := range 3 {
		reg := s.reg
		if f == localOnly {
			reg = host.NewMemSessions()
		}
		c.Members = append(c.Members, Member{
			Sessions: reg,
			Online: func(j jid.JID) error {
				s.mu.Lock()
				defer s.mu.Unlock()
				s.node[j.String()] = i
				if _, ok := s.ever[j.String()]; !ok {
					s.ever[j.String()] = i
				}
				reg.Add(host.Resource{JID: j})
				return nil
			},
			Offline: func(j jid.JID) error {
				s.mu.Lock()
				defer s.mu.Unlock()
				delete(s.node, j.String())
				reg.Remove(j)
				return nil
			},
		})
	}
	c.Kill = func(dead int) {
		if f == neverPurges {
			return
		}
		// Later, as an expiring heartbeat does (the fake's TTL).
		time.AfterFunc(50*time.Millisecond, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			by := s.node
			if f == purgesRebound {
				by = s.ever
			}
			for full, node := range by {
				if node == dead {
					s.reg.Remove(jid.MustParse(full))
					delete(s.node, full)
				}
			}
		})
	}
	return c
}

// TestKitFailsOnBrokenClusters runs the kit through kit.Record against the
// correct reference and each fault, and checks which subtests fail.
func TestKitFailsOnBrokenClusters(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    fault
		want []string // failing subtests
	}{
		{"correct", correct, nil},
		{"local only", localOnly, []string{"VisibleOnOthers", "OfflineOnOthers", "FlagsOnOthers", "PurgeAfterDeath", "ReboundElsewhereSurvivesPurge"}},
		{"never purges", neverPurges, []string{"PurgeAfterDeath", "ReboundElsewhereSurvivesPurge"}},
		{"purges a session bound again elsewhere", purgesRebound, []string{"ReboundElsewhereSurvivesPurge"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			failures := kit.Record(func(t kit.T) {
				run(t, func(kit.T) Cluster { return newShared(tc.f) })
			})
			var failed []string
			for _, f := range failures {
				name, _, _ := strings.Cut(f.Test, "/")
				if name != "" && !slices.Contains(failed, name) {
					failed = append(failed, name)
				}
			}
			require.ElementsMatch(t, tc.want, failed, "failing subtests; failures: %v", failures)
		})
	}
}
