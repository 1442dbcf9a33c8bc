//go:build interop

package interop

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// clientsResult is what slix/clients.py observed.
type clientsResult struct {
	EarlyJoinPushSubscription string   `json:"early_join_push_subscription"`
	LowGotJoinPush            bool     `json:"low_got_join_push"`
	EarlyGotGroupchat         bool     `json:"early_got_groupchat"`
	LowGotGroupchat           bool     `json:"low_got_groupchat"`
	EarlyGotChat              bool     `json:"early_got_chat"`
	LowGotChat                int      `json:"low_got_chat"`
	ForeignJoin               string   `json:"foreign_join"`
	EarlyGroupchatChurning    []string `json:"early_groupchat_while_churning"`
	EarlyGotLeavePush         bool     `json:"early_got_leave_push"`
	LowGotLeavePush           bool     `json:"low_got_leave_push"`
	QuietReceived             []string `json:"quiet_received"`
}

// TestClientOrders runs slix/clients.py: a client that joins before sending
// presence, one that never sends presence nor gets the roster, one at a
// negative priority, participants-node notifications to the bare JID while
// none of them may take it, a join sent to another user's account, and a
// client that comes and goes while channel traffic flows (XEP-0405 §2.2,
// §2.7–2.9; RFC 6121 §2.1.6, §8.5.2.1.1; RFC 6120 §8.3.3.5).
func TestClientOrders(t *testing.T) {
	t.Parallel()
	srv := startServer(t, true)
	res := runOK[clientsResult](t, srv, "clients.py", srv.users("alice", "bob"))
	require.Equal(t, "from", res.EarlyJoinPushSubscription, "roster push of a join made before any presence")
	require.True(t, res.LowGotJoinPush, "roster push on another client that requested the roster")
	require.True(t, res.EarlyGotGroupchat, "groupchat on the client that joined before its presence")
	require.True(t, res.LowGotGroupchat, "groupchat on a MIX client at priority -1")
	require.True(t, res.EarlyGotChat, "chat to the bare JID on the client of highest priority")
	require.Zero(t, res.LowGotChat, "chat to the bare JID on a client at priority -1")
	require.Equal(t, "forbidden", res.ForeignJoin, "client-join sent to another user's account")
	require.Len(t, res.EarlyGroupchatChurning, 6)
	for i, b := range res.EarlyGroupchatChurning {
		require.NotEmpty(t, b, "groupchat %d while another client came and went", i)
	}
	require.True(t, res.EarlyGotLeavePush, "roster removal on the leaving client")
	require.True(t, res.LowGotLeavePush, "roster removal on another client that requested the roster")
	require.Empty(t, res.QuietReceived, "a client that never sent presence nor requested the roster")
}
