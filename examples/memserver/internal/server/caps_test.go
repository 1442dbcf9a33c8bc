package server_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
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
