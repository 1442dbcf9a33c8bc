package server_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/sasl"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
)

func TestLogin(t *testing.T) {
	for _, tc := range []struct {
		name string
		tls  bool
		mech sasl.Mechanism
	}{
		{"scram-sha-256 over TLS", true, sasl.ScramSha256},
		{"scram-sha-1 over TLS", true, sasl.ScramSha1},
		{"plain over TLS", true, sasl.Plain},
		{"scram-sha-256 without TLS", false, sasl.ScramSha256},
		{"plain without TLS", false, sasl.Plain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testclient.Start(t, testclient.Options{TLS: tc.tls})
			c := srv.Login(t, "alice", testclient.Mechanism(tc.mech), testclient.Resource("laptop"))
			require.Equal(t, "alice@localhost/laptop", c.JID.String())
			c.Ping(t)
		})
	}
}

func TestLoginWrongPassword(t *testing.T) {
	for _, mech := range []sasl.Mechanism{sasl.ScramSha256, sasl.ScramSha1, sasl.Plain} {
		t.Run(mech.Name, func(t *testing.T) {
			srv := testclient.Start(t, testclient.Options{TLS: true})
			ctx, cancel := context.WithTimeout(context.Background(), testclient.Timeout)
			defer cancel()
			_, err := srv.Dial(ctx, "alice", testclient.Mechanism(mech), testclient.Password("wrong"))
			require.Error(t, err)
			_, err = srv.Dial(ctx, "mallory", testclient.Mechanism(mech), testclient.Password("x"))
			require.Error(t, err)
		})
	}
}

func mustJID(s string) jid.JID { return jid.MustParse(s) }
