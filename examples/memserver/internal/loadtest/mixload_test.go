package loadtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/examples/memserver/internal/mixservice"
	"github.com/mixpam/mixpam/examples/memserver/internal/server"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/mixload"
)

const mixDomain = "mix.localhost"

// startServer starts the example server with the real MIX service and n
// accounts load1…loadN, returned as mixload accounts.
func startServer(t testing.TB, n int, tls bool) (*testclient.Server, []mixload.Account) {
	t.Helper()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("load%d", i+1)
	}
	srv := testclient.Start(t, testclient.Options{
		TLS:       tls,
		Users:     names,
		MIXDomain: mixDomain,
		NewMIX: func(r host.RawRouter) server.MIXService {
			return mixservice.New(mixservice.Config{Domain: mixDomain, Router: r})
		},
	})
	accounts := make([]mixload.Account, n)
	for i, name := range names {
		accounts[i] = mixload.Account{User: name, Password: srv.Passwords[name]}
	}
	return srv, accounts
}

// TestMixloadAgainstExampleServer runs mixload's scenarios, small, against
// the example server: every delivery arrives exactly once and in order.
func TestMixloadAgainstExampleServer(t *testing.T) {
	for _, tc := range []struct {
		name string
		tls  bool
		cfg  mixload.Config
	}{
		{"one channel, mixed resources, STARTTLS, SCRAM", true, mixload.Config{Participants: 6, Resources: "mixed", Messages: 300, SASL: mixload.SASLScram, TLS: mixload.TLSRequired}},
		{"ten channels, two resources, plain TCP, PLAIN", false, mixload.Config{Participants: 20, Resources: "2", Channels: 10, Messages: 300, SASL: mixload.SASLPlain, TLS: mixload.TLSOff}},
		{"many channels each, paced", false, mixload.Config{Participants: 12, Channels: 12, PerParticipant: 4, Rate: 400, Duration: 250 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, accounts := startServer(t, tc.cfg.Participants, tc.tls)
			cfg := tc.cfg
			cfg.Addr, cfg.Domain, cfg.Accounts = srv.Addr, "localhost", accounts
			s, err := mixload.Run(context.Background(), cfg)
			require.NoError(t, err)
			require.Positive(t, s.MessagesSent)
			require.Equal(t, s.Expected, s.Received, "%+v", s)
			require.Zero(t, s.Lost)
			require.Zero(t, s.Duplicated)
			require.Zero(t, s.OutOfOrder)
			require.Zero(t, s.Rejected)
			require.Zero(t, s.CleanupErrors)
			t.Logf("%d deliveries, %.0f/s, p99 %.2f ms, mixload CPU %.2f s", s.Received, s.DeliveriesPerSec, s.LatencyP99ms, s.OwnCPUSeconds)
		})
	}
}

// TestMixloadRefusesRemoteAddresses: mixload talks to loopback only.
func TestMixloadRefusesRemoteAddresses(t *testing.T) {
	for _, addr := range []string{"192.0.2.1:5222", "example.org:5222", "[2001:db8::1]:5222", "nonsense"} {
		_, err := mixload.Run(context.Background(), mixload.Config{Addr: addr, Domain: "localhost", Accounts: []mixload.Account{{User: "a", Password: "b"}}, Participants: 1})
		require.Error(t, err, addr)
	}
	for _, addr := range []string{"127.0.0.1:5222", "127.1.2.3:1", "[::1]:5222", "localhost:5222"} {
		require.NoError(t, mixload.CheckLoopback(addr), addr)
	}
}
