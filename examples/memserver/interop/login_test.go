//go:build interop

package interop

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// mechanisms are the SASL mechanisms the server must offer, and no -PLUS
// one (slixmpp would pick tls-unique channel binding, which Go's TLS 1.3
// cannot provide).
var mechanisms = []string{"PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"}

// loginResult is what slix/login.py observed.
type loginResult struct {
	JID       string   `json:"jid"`
	Mechanism string   `json:"mechanism"`
	Offered   []string `json:"offered"`
	TLS       bool     `json:"tls"`
	DiscoPAM  bool     `json:"disco_pam"`
}

// TestLogin logs in with each SASL mechanism, over STARTTLS (-tls auto) and
// over plain TCP (-tls off, the only way PLAIN travels unencrypted), and
// checks that the account advertises MIX-PAM (XEP-0405 §2.4).
func TestLogin(t *testing.T) {
	t.Parallel()
	for _, tls := range []bool{true, false} {
		srv := startServer(t, tls)
		for _, mech := range mechanisms {
			t.Run(mode(tls)+"/"+mech, func(t *testing.T) {
				res := runOK[loginResult](t, srv, "login.py", srv.users("alice"), "--mech", mech)
				require.Equal(t, "alice@"+domain+"/login", res.JID)
				require.Equal(t, mech, res.Mechanism)
				require.Equal(t, tls, res.TLS, "stream over TLS")
				require.ElementsMatch(t, mechanisms, res.Offered)
				require.True(t, res.DiscoPAM, "the account's disco#info lists urn:xmpp:mix:pam:2")
			})
		}
	}
}

// TestLoginWrongPassword checks that each mechanism refuses a wrong
// password (RFC 6120 §6.5.10 not-authorized): slixmpp gives up after its
// only mechanism failed.
func TestLoginWrongPassword(t *testing.T) {
	t.Parallel()
	srv := startServer(t, true)
	for _, mech := range mechanisms {
		t.Run(mech, func(t *testing.T) {
			run := runScript(t, srv, "login.py", []string{"--user", "alice:not-" + srv.passwords["alice"]}, "--mech", mech)
			var o outcome
			require.NoError(t, json.Unmarshal(run.result, &o), "%q", run.result)
			require.Equal(t, 1, run.code)
			require.False(t, o.OK)
			require.Contains(t, o.Error, "authentication failed")
		})
	}
}

// featuresResult is what slix/features.py observed.
type featuresResult struct {
	Features         []string `json:"features"`
	StartTLSRequired bool     `json:"starttls_required"`
	Mechanisms       []string `json:"mechanisms"`
}

// TestStreamFeatures checks the first stream features (RFC 6120 §5.3.1,
// §6.3.1): with -tls auto only STARTTLS, required, so that no SASL
// mechanism, PLAIN least of all, is offered before TLS; with -tls off the
// SASL mechanisms at once.
func TestStreamFeatures(t *testing.T) {
	t.Parallel()
	t.Run("tls", func(t *testing.T) {
		srv := startServer(t, true)
		res := runOK[featuresResult](t, srv, "features.py", srv.users("alice"))
		require.Equal(t, []string{"{urn:ietf:params:xml:ns:xmpp-tls}starttls"}, res.Features)
		require.True(t, res.StartTLSRequired)
		require.Empty(t, res.Mechanisms)
	})
	t.Run("plain", func(t *testing.T) {
		srv := startServer(t, false)
		res := runOK[featuresResult](t, srv, "features.py", srv.users("alice"))
		require.Equal(t, []string{"{urn:ietf:params:xml:ns:xmpp-sasl}mechanisms"}, res.Features)
		require.ElementsMatch(t, mechanisms, res.Mechanisms)
	})
}

func mode(tls bool) string {
	if tls {
		return "starttls"
	}
	return "plain"
}
