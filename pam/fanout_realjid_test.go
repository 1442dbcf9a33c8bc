package pam

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/presence"
)

// The blocking package's filter is what hosts plug into the fan-out and the
// presence handler.
var (
	_ BlockFilter          = (*blocking.Filter)(nil)
	_ presence.BlockFilter = (*blocking.Filter)(nil)
)

// TestFanOutWithBlockingFilter runs the fan-out with the real MIX-aware
// filter over an in-memory blocklist (XEP-0405 §2.12).
func TestFanOutWithBlockingFilter(t *testing.T) {
	tests := []struct {
		name       string
		blocked    string
		realJID    bool
		wantAction FanOutAction
	}{
		{"nothing blocked", "", false, FanOutAccepted},
		{"channel blocked", "coven@mix.shakespeare.example", false, FanOutBlocked},
		{"channel service blocked", "mix.shakespeare.example", false, FanOutBlocked},
		{"this participant blocked", "123456#coven@mix.shakespeare.example", false, FanOutBlocked},
		{"other participant blocked", "999999#coven@mix.shakespeare.example", false, FanOutAccepted},
		{"real JID blocked, option off", "hag66@shakespeare.example", false, FanOutAccepted},
		{"real JID blocked, option on", "hag66@shakespeare.example", true, FanOutBlocked},
		{"channel blocked, option on", "coven@mix.shakespeare.example", true, FanOutBlocked},
		{"other real JID blocked, option on", "hag01@shakespeare.example", true, FanOutAccepted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := blocking.NewMemStore()
			if tc.blocked != "" {
				_, err := store.Block(context.Background(), jid.MustParse("hecate@shakespeare.example"), jid.MustParse(tc.blocked))
				require.NoError(t, err)
			}
			filter, err := blocking.NewFilter(blocking.FilterConfig{Checker: blocking.StoreChecker(store), MatchRealJID: tc.realJID})
			require.NoError(t, err)
			e := newFanOutEnv(t, func(c *FanOutConfig) { c.Block = filter })
			e.online("UUID-x4r/2491", true)
			res, err := e.serve(fanOutMessage)
			require.NoError(t, err)
			require.Equal(t, tc.wantAction, res.Action)
			if tc.wantAction == FanOutAccepted {
				require.Len(t, e.records(), 1)
				require.Len(t, e.router.Deliveries(), 1)
				return
			}
			require.Empty(t, e.records(), "blocked traffic is not archived")
			require.Empty(t, e.router.Deliveries(), "blocked traffic is not delivered")
			require.Equal(t, FanOutStats{DroppedBlocked: 1}, e.fanOut.Stats())
		})
	}
}

func TestMixRealJID(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{"present", `<message><mix xmlns="urn:xmpp:mix:core:1"><nick>n</nick><jid> hag66@shakespeare.example </jid></mix></message>`, "hag66@shakespeare.example"},
		{"absent", `<message><body>hi</body></message>`, ""},
		{"mix without jid", `<message><mix xmlns="urn:xmpp:mix:core:1"><nick>n</nick></mix></message>`, ""},
		{"other namespace", `<message><mix xmlns="urn:xmpp:mix:0"><jid>hag66@shakespeare.example</jid></mix></message>`, ""},
		{"nested too deep", `<message><x><mix xmlns="urn:xmpp:mix:core:1"><jid>hag66@shakespeare.example</jid></mix></x></message>`, ""},
		{"invalid JID", `<message><mix xmlns="urn:xmpp:mix:core:1"><jid>@@</jid></mix></message>`, ""},
		{"not XML", `<message><mix`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, mixRealJID([]byte(tc.raw)).String())
		})
	}
}
