// Package slixcheck holds what the example servers' slixmpp interop tests
// share: the results the scenario scripts in
// examples/memserver/interop/slix print, and the checks every server that
// runs them must pass.
package slixcheck

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Clients is what slix/clients.py observed.
type Clients struct {
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

// Check requires what clients.py's clients must have seen: a client that
// joins before sending presence, one that never sends presence nor gets
// the roster, one at a negative priority, a join sent to another user's
// account, and a client that comes and goes while channel traffic flows
// (XEP-0405 §2.2, §2.7–2.9; RFC 6121 §2.1.6, §8.5.2.1.1; RFC 6120
// §8.3.3.5).
func (res Clients) Check(t testing.TB) {
	t.Helper()
	require.Equal(t, "from", res.EarlyJoinPushSubscription, "roster push of a join made before any presence")
	require.True(t, res.LowGotJoinPush, "roster push on another client that requested the roster")
	require.True(t, res.EarlyGotGroupchat, "groupchat on the client that joined before its presence")
	require.True(t, res.LowGotGroupchat, "groupchat on a MIX client at priority -1")
	require.True(t, res.EarlyGotChat, "chat to the bare JID on a client of non-negative priority")
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
