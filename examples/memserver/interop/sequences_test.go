//go:build interop

package interop

import (
	"testing"

	"github.com/mixpam/mixpam/examples/internal/slixcheck"
)

// TestClientOrders runs slix/clients.py: a client that joins before sending
// presence, one that never sends presence nor gets the roster, one at a
// negative priority, participants-node notifications to the bare JID while
// none of them may take it, a join sent to another user's account, and a
// client that comes and goes while channel traffic flows (XEP-0405 §2.2,
// §2.7–2.9; RFC 6121 §2.1.6, §8.5.2.1.1; RFC 6120 §8.3.3.5).
func TestClientOrders(t *testing.T) {
	t.Parallel()
	srv := startServer(t, true)
	runOK[slixcheck.Clients](t, srv, "clients.py", srv.users("alice", "bob")).Check(t)
}
