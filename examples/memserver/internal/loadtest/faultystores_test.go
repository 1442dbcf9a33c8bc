package loadtest

import (
	"context"
	"encoding/xml"
	"flag"
	"fmt"
	"math/rand/v2"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
	"github.com/mixpam/mixpam/roster"
)

// faultSeed replays a run of TestReliabilityFaultyStores: its log gives
// the seed.
var faultSeed = flag.Uint64("loadtest.seed", 0, "seed of the injected store faults; 0 picks one")

// TestReliabilityFaultyStores runs clients that join, leave, post, read
// their rosters and query their archives concurrently while the server's
// roster and archive stores fail, stall and hang at random (faults), some
// calls past the server's request timeout. Every request is answered within
// a bound while the faults last. Once they heal, every user's roster, read
// as the client reads it, holds exactly the channels the MIX service counts
// the user a participant of; archive queries are answered; the server goes
// idle and its goroutines return to their baseline.
func TestReliabilityFaultyStores(t *testing.T) {
	const timeout = 400 * time.Millisecond // the server's request timeout
	// A request takes at most three timeouts (the channel's answer, the
	// roster update, the leave that undoes a join the roster could not
	// record); the rest is room for a loaded machine under -race.
	bound := 3*timeout + 5*time.Second
	// The long form runs longer, not denser: with 24 users the channels'
	// answers queue behind the fan-out of posts to stalled stores for
	// longer than pam takes late answers (docs/performance.md).
	n, rounds := 6, scale(30, 300)
	seed := *faultSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("fault seed %d (-args -loadtest.seed=%[1]d draws the same faults)", seed)
	f := newFaults(seed, timeout)
	users := []string{"owner"}
	for i := range n {
		users = append(users, fmt.Sprintf("u%d", i))
	}
	srv := startMIXServerWith(t, testclient.Options{
		Users:          users,
		Rosters:        faultyRosters{store: roster.NewMemStore(), f: f},
		Archive:        faultyArchive{store: archive.NewMemStore(), f: f},
		RequestTimeout: timeout,
	})
	t.Cleanup(f.heal)
	owner := loginMIX(t, srv, "owner", "o")
	channels := []string{createChannel(t, owner, "faulty0"), createChannel(t, owner, "faulty1"), createChannel(t, owner, "faulty2")}
	owner.Close(t)
	waitIdle(t, srv)
	baseline := runtime.NumGoroutine()

	// Each user posts from a client of its own: the example server routes
	// a post on the poster's session, to each participant in turn, each
	// bounded by the request timeout, so a client's requests after its own
	// post could wait for up to participants × timeout when stores hang
	// (the fan-out's backpressure), which no fixed bound covers.
	clients, posters := make([]*testclient.Client, n), make([]*testclient.Client, n)
	for i, u := range users[1:] {
		clients[i] = loginMIX(t, srv, u, "busy")
		posters[i] = loginMIX(t, srv, u, "poster")
	}
	f.start()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		late    []string           // requests not answered within bound
		slowest time.Duration      // longest wait for an answer
		counts  = map[string]int{} // "op answer-type" → count
	)
	history := map[string][]string{} // user → what each request got, for failures
	t.Cleanup(func() {
		if t.Failed() {
			for u, h := range history {
				t.Logf("%s:\n%s", u, strings.Join(h, "\n"))
			}
		}
	})
	for i, c := range clients {
		wg.Add(1)
		poster := posters[i]
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			for r := range rounds {
				ch := channels[rng.IntN(len(channels))]
				id := fmt.Sprintf("r%d", r)
				var op, req string
				switch k := rng.IntN(10); {
				case k < 3:
					op, req = "join", joinRequest(id, ch, c.JID.Localpart())
				case k < 5:
					op, req = "leave", `<iq type="set" id="`+id+`"><client-leave xmlns="urn:xmpp:mix:pam:2" channel="`+ch+`"><leave xmlns="urn:xmpp:mix:core:1"/></client-leave></iq>`
				case k < 7:
					op, req = "roster", `<iq type="get" id="`+id+`"><query xmlns="jabber:iq:roster"/></iq>`
				case k < 8:
					op, req = "mam", `<iq type="set" id="`+id+`"><query xmlns="urn:xmpp:mam:2" queryid="`+id+`"><x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE" type="hidden"><value>urn:xmpp:mam:2</value></field><field var="with"><value>`+ch+`</value></field></x></query></iq>`
				default:
					// A post has no answer to wait for: the channel
					// reflects it to participants only.
					op, req = "post", `<message type="groupchat" id="`+id+`" to="`+ch+`"><body>`+id+`</body></message>`
				}
				sender := c
				if op == "post" {
					sender = poster
				}
				start := time.Now()
				if err := sender.Session.Send(context.Background(), xml.NewDecoder(strings.NewReader(req))); err != nil {
					mu.Lock()
					late = append(late, fmt.Sprintf("%s %s %s: send: %v", c.JID, op, id, err))
					mu.Unlock()
					return
				}
				answer := "sent"
				if op != "post" {
					p, ok := c.Wait(bound, testclient.ByID(id))
					if !ok {
						mu.Lock()
						late = append(late, fmt.Sprintf("%s %s %s: no answer within %s", c.JID, op, id, bound))
						mu.Unlock()
						return
					}
					answer = p.Type
					if answer == "error" {
						answer += " " + errorCondition(p)
					}
				}
				took := time.Since(start)
				sender.TakeAll(func(packet.Packet) bool { return true }) // pushes, messages, MAM results
				mu.Lock()
				history[c.JID.Localpart()] = append(history[c.JID.Localpart()], fmt.Sprintf("%s %s %s: %s after %s", id, op, ch, answer, took.Round(time.Millisecond)))
				counts[op+" "+answer]++
				slowest = max(slowest, took)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	f.heal()
	require.Empty(t, late, "requests without an answer in time")
	for _, c := range append(clients, posters...) {
		c.Close(t)
	}

	checkRosters(t, srv, users[1:], channels)
	for _, u := range users[1:] {
		c := loginMIX(t, srv, u, "mam")
		for _, ch := range channels {
			archivedBodies(t, c, ch) // answered with a result: the archive serves again
		}
		c.Close(t)
	}
	waitIdle(t, srv)
	waitGoroutines(t, baseline)
	t.Logf("%d clients × %d requests under faults (%d failed, %d stalled, %d hung, %d lost-answer store calls): %v, slowest answer %s; rosters match the channels' participants",
		n, rounds, f.failed.Load(), f.stalled.Load(), f.hung.Load(), f.lost.Load(), counts, slowest.Round(time.Millisecond))
}

var conditionRE = regexp.MustCompile(`<([a-z-]+) xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"`)

// errorCondition returns the defined condition of an error stanza.
func errorCondition(p packet.Packet) string {
	if m := conditionRE.FindSubmatch(p.Raw); m != nil {
		return string(m[1])
	}
	return "?"
}

// waitIdle waits, for at most testclient.Timeout, until the server has no
// connection open and no background work running.
func waitIdle(t *testing.T, srv *mixServer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testclient.Timeout)
	defer cancel()
	require.NoError(t, srv.WaitIdle(ctx), "server not idle")
}
