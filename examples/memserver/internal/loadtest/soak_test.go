package loadtest

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
	"github.com/mixpam/mixpam/internal/mixload"
)

// soak is how long TestReliabilitySoak runs: 30 s in CI (under -race),
// longer with -loadtest.soak.
var soak = flag.Duration("loadtest.soak", 30*time.Second, "length of the mixed-load soak")

// TestReliabilitySoak runs mixed load for the soak duration: mixload posts
// at a paced rate to channels whose participants have one or two
// resources, while other users keep logging in, joining a channel through
// client-join, posting, reading their archive, leaving and disconnecting.
// Every delivery arrives exactly once, every request is answered, and the
// server's goroutines return to their baseline.
func TestReliabilitySoak(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak runs for the full -loadtest.soak; -short leaves it out")
	}
	const loaders, churners = 16, 3
	var users []string
	for i := range loaders {
		users = append(users, fmt.Sprintf("load%d", i+1))
	}
	for i := range churners {
		users = append(users, fmt.Sprintf("churn%d", i))
	}
	users = append(users, "owner")
	srv := startMIXServer(t, users)
	owner := loginMIX(t, srv, "owner", "o")
	churnChannel := createChannel(t, owner, "churn")
	baseline := runtime.NumGoroutine()

	accounts := make([]mixload.Account, loaders)
	for i := range accounts {
		accounts[i] = mixload.Account{User: users[i], Password: srv.Passwords[users[i]]}
	}
	type result struct {
		s   mixload.Summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := mixload.Run(context.Background(), mixload.Config{
			Addr: srv.Addr, Domain: "localhost", Accounts: accounts,
			Participants: loaders, Resources: "mixed", Channels: 4, PerParticipant: 2,
			Rate: 40, Duration: *soak, Drain: 20 * time.Second,
		})
		done <- result{s, err}
	}()

	var logins, joins, posts, archived, leaves int
	deadline := time.Now().Add(*soak)
	for i := 0; time.Now().Before(deadline); i++ {
		u := users[loaders+i%churners]
		c := loginMIX(t, srv, u, fmt.Sprintf("c%d", i))
		logins++
		require.Equal(t, "result", clientJoin(t, c, fmt.Sprintf("join%d", i), churnChannel).Type)
		joins++
		body := fmt.Sprintf("churn-%d", i)
		c.Send(t, `<message type="groupchat" id="`+body+`" to="`+churnChannel+`"><body>`+body+`</body></message>`)
		c.Expect(t, "own message back", testclient.Contains(packet.Message, "<body>"+body+"</body>"))
		posts++
		archived += len(archivedBodies(t, c, churnChannel))
		c.Send(t, fmt.Sprintf(`<iq type="set" id="leave%d"><client-leave xmlns="urn:xmpp:mix:pam:2" channel="%s"><leave xmlns="urn:xmpp:mix:core:1"/></client-leave></iq>`, i, churnChannel))
		require.Equal(t, "result", c.Expect(t, "leave answer", testclient.ByID(fmt.Sprintf("leave%d", i))).Type)
		leaves++
		if i%2 == 0 {
			c.Vanish()
		} else {
			c.Close(t)
		}
	}

	r := <-done
	require.NoError(t, r.err)
	s := r.s
	require.Positive(t, s.MessagesSent)
	require.Equal(t, s.Expected, s.Received, "%+v", s)
	require.Zero(t, s.Lost)
	require.Zero(t, s.Duplicated)
	require.Zero(t, s.OutOfOrder)
	require.Zero(t, s.StreamsEnded)
	require.Positive(t, joins)
	waitGoroutines(t, baseline)
	t.Logf("soak of %s: mixload posted %d messages, %d/%d deliveries (lost %d, duplicated %d, out of order %d, refused %d), p99 %.1f ms; churn: %d logins, %d client-joins, %d posts, %d archived messages read, %d client-leaves",
		*soak, s.MessagesSent, s.Received, s.Expected, s.Lost, s.Duplicated, s.OutOfOrder, s.Rejected, s.LatencyP99ms, logins, joins, posts, archived, leaves)
}
