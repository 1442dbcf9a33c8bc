package c2s_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/examples/memserver/internal/accounts"
	"github.com/mixpam/mixpam/examples/memserver/internal/c2s"
)

// recordConn is a scriptConn that keeps what the server writes.
type recordConn struct {
	scriptConn
	out *bytes.Buffer
}

func (c recordConn) Write(b []byte) (int, error) { return c.out.Write(b) }

func TestNegotiatePlain(t *testing.T) {
	store := accounts.New()
	require.NoError(t, store.Add("alice", "pw"))
	cfg := c2s.Config{Domain: "localhost", Accounts: store, Timeout: time.Minute}
	for _, tc := range []struct {
		name, auth, want string
		bound            bool
	}{
		{"right password", "AGFsaWNlAHB3", "<success", true},
		{"authzid of the user", "YWxpY2VAbG9jYWxob3N0AGFsaWNlAHB3", "<success", true},
		{"authzid of someone else", "Ym9iQGxvY2FsaG9zdABhbGljZQBwdw==", "<invalid-authzid/>", false},
		{"wrong password", "AGFsaWNlAHdyb25n", "<not-authorized/>", false},
		{"unknown user", "AG1hbGxvcnkAcHc=", "<not-authorized/>", false},
		{"not base64", "!!!", "<incorrect-encoding/>", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := header + `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>` + tc.auth + `</auth>` +
				header + `<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>`
			var out bytes.Buffer
			s, err := c2s.Negotiate(context.Background(), recordConn{scriptConn{strings.NewReader(in)}, &out}, cfg)
			require.Contains(t, out.String(), tc.want)
			if tc.bound {
				require.NoError(t, err)
				require.Equal(t, "alice@localhost/r", s.JID.String())
				require.Contains(t, string(s.BindResult), "<jid>alice@localhost/r</jid>")
			} else {
				require.Error(t, err)
			}
		})
	}
}

func TestNegotiateOffersPlainWithoutTLS(t *testing.T) {
	store := accounts.New()
	require.NoError(t, store.Add("alice", "pw"))
	cfg := c2s.Config{Domain: "localhost", Accounts: store, Timeout: time.Minute, TLS: nil}
	var out bytes.Buffer
	_, err := c2s.Negotiate(context.Background(), recordConn{scriptConn{strings.NewReader(header)}, &out}, cfg)
	require.Error(t, err)
	require.Contains(t, out.String(), "<mechanism>PLAIN</mechanism>", "PLAIN is offered when TLS is off")
	require.NotContains(t, out.String(), "-PLUS")
}
