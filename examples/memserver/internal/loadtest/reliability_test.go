package loadtest

import (
	"context"
	"encoding/xml"
	"flag"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/examples/memserver/internal/mixservice"
	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/server"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
	"github.com/mixpam/mixpam/host"
)

// long makes the reliability campaign run longer: go test -run
// Reliability -args -loadtest.long (CI runs the short form).
var long = flag.Bool("loadtest.long", false, "run the reliability campaign at full length")

// scale returns short in CI and full with -loadtest.long.
func scale(short, full int) int {
	if *long {
		return full
	}
	return short
}

// mixServer is the example server with the real MIX service, reachable for
// inspection.
type mixServer struct {
	*testclient.Server
	mix *mixservice.Service
}

func startMIXServer(t *testing.T, users []string) *mixServer {
	t.Helper()
	return startMIXServerWith(t, testclient.Options{Users: users})
}

// startMIXServerWith is startMIXServer with the server's other options
// (stores, timeouts) taken from o.
func startMIXServerWith(t *testing.T, o testclient.Options) *mixServer {
	t.Helper()
	ms := &mixServer{}
	o.MIXDomain = mixDomain
	o.NewMIX = func(r host.RawRouter) server.MIXService {
		ms.mix = mixservice.New(mixservice.Config{Domain: mixDomain, Router: r})
		return ms.mix
	}
	ms.Server = testclient.Start(t, o)
	return ms
}

// loginMIX logs a MIX-capable client in and waits, as a client can, until
// the server knows it is (XEP-0405 §2.1): for the server's disco#info
// query, which the client answers, and a ping round trip.
func loginMIX(t *testing.T, srv *mixServer, name, resource string) *testclient.Client {
	t.Helper()
	c := srv.Login(t, name, testclient.Resource(resource), testclient.MIXCapable(), testclient.RecordDisco())
	c.ExpectCapsQuery(t)
	return c
}

// clientJoin sends a client-join (XEP-0405 §2.7) and returns the answer.
func clientJoin(t *testing.T, c *testclient.Client, id, channel string) packet.Packet {
	t.Helper()
	c.Send(t, joinRequest(id, channel, c.JID.Localpart()))
	return c.Expect(t, "client-join answer", testclient.ByID(id))
}

func joinRequest(id, channel, nick string) string {
	return `<iq type="set" id="` + id + `"><client-join xmlns="urn:xmpp:mix:pam:2" channel="` + channel + `"><join xmlns="urn:xmpp:mix:core:1"><subscribe node="urn:xmpp:mix:nodes:messages"/><nick>` + nick + `</nick></join></client-join></iq>`
}

func createChannel(t *testing.T, c *testclient.Client, name string) string {
	t.Helper()
	c.Send(t, `<iq type="set" id="create-`+name+`" to="`+mixDomain+`"><create xmlns="urn:xmpp:mix:core:1" channel="`+name+`"/></iq>`)
	require.Equal(t, "result", c.Expect(t, "create result", testclient.ByID("create-"+name)).Type)
	return name + "@" + mixDomain
}

var bodyRE = regexp.MustCompile(`<body>([^<]*)</body>`)

// archivedBodies reads the user's whole archive of channel through MAM
// (XEP-0313, paged with RSM) and returns the bodies in archive order.
func archivedBodies(t *testing.T, c *testclient.Client, channel string) []string {
	t.Helper()
	var bodies []string
	after := ""
	for page := 0; ; page++ {
		qid := fmt.Sprintf("q%d", page)
		rsm := `<set xmlns="http://jabber.org/protocol/rsm"><max>200</max>` + after + `</set>`
		c.Send(t, `<iq type="set" id="`+qid+`"><query xmlns="urn:xmpp:mam:2" queryid="`+qid+`"><x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE" type="hidden"><value>urn:xmpp:mam:2</value></field><field var="with"><value>`+channel+`</value></field></x>`+rsm+`</query></iq>`)
		fin := c.Expect(t, "MAM fin", testclient.ByID(qid))
		require.Equal(t, "result", fin.Type, string(fin.Raw))
		for _, p := range c.TakeAll(testclient.Contains(packet.Message, `queryid="`+qid+`"`)) {
			m := bodyRE.FindSubmatch(p.Raw)
			require.NotNil(t, m, string(p.Raw))
			bodies = append(bodies, string(m[1]))
		}
		if strings.Contains(string(fin.Raw), `complete="true"`) {
			return bodies
		}
		last := regexp.MustCompile(`<last>([^<]*)</last>`).FindSubmatch(fin.Raw)
		require.NotNil(t, last, string(fin.Raw))
		after = `<after>` + string(last[1]) + `</after>`
	}
}

// TestReliabilityNoLossAcrossReconnects posts to a channel while its other
// participants keep disconnecting and reconnecting: every message the
// channel accepted is in every participant's archive exactly once, in
// order, and nothing else is (XEP-0405 §2.11).
func TestReliabilityNoLossAcrossReconnects(t *testing.T) {
	users := []string{"sender", "p1", "p2", "p3", "p4"}
	srv := startMIXServer(t, users)
	sender := loginMIX(t, srv, "sender", "stable")
	channel := createChannel(t, sender, "noloss")
	for _, u := range users {
		c := sender
		if u != "sender" {
			c = loginMIX(t, srv, u, "first")
		}
		require.Equal(t, "result", clientJoin(t, c, "join-"+u, channel).Type)
		if u != "sender" {
			c.Close(t)
		}
	}

	stop := make(chan struct{})
	var reconnects atomic.Int64
	var wg sync.WaitGroup
	for _, u := range users[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), testclient.Timeout)
				c, err := srv.Dial(ctx, u, testclient.Resource(fmt.Sprintf("r%d", i)), testclient.MIXCapable())
				cancel()
				if err != nil {
					continue
				}
				reconnects.Add(1)
				if i%2 == 0 {
					c.Vanish() // half of them just drop the connection
				} else {
					_ = c.Session.Close()
					c.Vanish()
				}
			}
		}()
	}

	n := scale(150, 3000)
	var accepted []string
	for i := range n {
		body := fmt.Sprintf("m%d", i)
		sender.Send(t, `<message type="groupchat" id="s`+body+`" to="`+channel+`"><body>`+body+`</body></message>`)
		got := sender.Expect(t, "echo or error", func(p packet.Packet) bool {
			return p.Kind == packet.Message && (strings.Contains(string(p.Raw), "<body>"+body+"</body>") || p.ID == "s"+body && p.Type == "error")
		})
		if got.Type != "error" {
			accepted = append(accepted, body)
		}
	}
	close(stop)
	wg.Wait()
	require.NotEmpty(t, accepted)

	for _, u := range users {
		c := loginMIX(t, srv, u, "check")
		require.Equal(t, accepted, archivedBodies(t, c, channel), "archive of %s", u)
	}
	t.Logf("%d messages accepted of %d posted, %d reconnects, archives of %d participants complete", len(accepted), n, reconnects.Load(), len(users))
}

// TestReliabilityVanishingJoins has clients vanish right after sending a
// client-join, while others join normally: afterwards every user's roster
// holds exactly the channels the channel confirmed them in, and the
// server's goroutines return to their baseline.
func TestReliabilityVanishingJoins(t *testing.T) {
	n := scale(12, 60)
	users := []string{"owner"}
	for i := range n {
		users = append(users, fmt.Sprintf("u%d", i))
	}
	srv := startMIXServer(t, users)
	owner := loginMIX(t, srv, "owner", "o")
	channels := []string{createChannel(t, owner, "vanish0"), createChannel(t, owner, "vanish1")}
	owner.Close(t)
	baseline := runtime.NumGoroutine()

	var wg sync.WaitGroup
	for i, u := range users[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), testclient.Timeout)
			defer cancel()
			c, err := srv.Dial(ctx, u, testclient.Resource("j"), testclient.MIXCapable())
			if err != nil {
				return
			}
			for k, ch := range channels {
				_ = c.Session.Send(context.Background(), xml.NewDecoder(strings.NewReader(joinRequest(fmt.Sprintf("j%d", k), ch, u))))
			}
			if i%3 != 0 {
				c.Vanish() // gone before (or while) the channel answers
				return
			}
			_ = c.Session.Close()
			c.Vanish()
		}()
	}
	wg.Wait()

	checkRosters(t, srv, users[1:], channels)
	waitGoroutines(t, baseline)
	confirmed := 0
	for _, ch := range channels {
		info, _ := srv.mix.Channel(jid.MustParse(ch))
		confirmed += len(info.Participants)
	}
	t.Logf("%d users each sent %d client-joins and vanished (2 in 3 without closing the stream): %d memberships confirmed, rosters match", n, len(channels), confirmed)
}

// checkRosters compares each user's roster, as the user reads it, with the
// channels' confirmed participants. A join whose client vanished is still
// carried out by the user's server (XEP-0405 §2.7: the roster follows the
// channel's answer), and nothing tells a client when that is done, so the
// comparison is repeated every 20 ms until it holds, for at most
// testclient.Timeout.
func checkRosters(t *testing.T, srv *mixServer, users []string, channels []string) {
	t.Helper()
	for _, u := range users {
		c := srv.Login(t, u, testclient.Resource("check"))
		var roster string
		var want map[string]bool
		asked := 0
		matches := func() bool {
			want = map[string]bool{}
			for _, ch := range channels {
				info, ok := srv.mix.Channel(jid.MustParse(ch))
				require.True(t, ok, ch)
				for _, p := range info.Participants {
					if p.JID.Localpart() == u {
						want[ch] = true
					}
				}
			}
			asked++
			id := fmt.Sprintf("roster-%d", asked)
			c.Send(t, `<iq type="get" id="`+id+`"><query xmlns="jabber:iq:roster"/></iq>`)
			roster = string(c.Expect(t, "roster", testclient.ByID(id)).Raw)
			for _, ch := range channels {
				if want[ch] != strings.Contains(roster, `jid="`+ch+`"`) {
					return false
				}
			}
			return true
		}
		tick := time.NewTicker(20 * time.Millisecond)
		deadline := time.After(testclient.Timeout)
		for !matches() {
			select {
			case <-tick.C:
			case <-deadline:
				require.FailNow(t, "roster and channels disagree", "%s: memberships %v, roster %s", u, want, roster)
			}
		}
		tick.Stop()
		c.Close(t)
	}
}

// waitGoroutines waits until the process runs no more goroutines than
// baseline: the server's work for clients that are gone has ended. No
// event marks that, so the count is read every 20 ms, for at most
// testclient.Timeout. (require.Eventually would count its own goroutines.)
func waitGoroutines(t *testing.T, baseline int) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(testclient.Timeout)
	for runtime.NumGoroutine() > baseline {
		select {
		case <-tick.C:
		case <-deadline:
			buf := make([]byte, 1<<20)
			require.FailNow(t, "goroutines above baseline", "%d running, baseline %d:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
		}
	}
}
