package presence

import (
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/roster"
)

// TestDirected checks XEP-0405 §2.9: directed presence from a client that is
// not MIX capable never goes to a joined channel; anything else may go.
func TestDirected(t *testing.T) {
	hs := newHarness(t)
	hs.join(coven, roster.From)
	_, err := hs.rosters.Put(t.Context(), jid.MustParse(userBare), roster.Item{JID: jid.MustParse("romeo@montague.example"), Subscription: roster.Both})
	require.NoError(t, err)
	hs.connect(mixClient, true)
	hs.connect(oldClient, false)
	for _, tc := range []struct {
		from, to string
		want     bool
	}{
		{mixClient, coven, true},
		{oldClient, coven, false},
		{oldClient, hecateIn, false}, // a JID at the channel
		{oldClient, "romeo@montague.example/garden", true},
		{oldClient, brew, true}, // not joined: not known as a channel
		{userBare + "/unknown", coven, false},
	} {
		ok, err := hs.h.Directed(t.Context(), jid.MustParse(tc.from), jid.MustParse(tc.to))
		require.NoError(t, err)
		require.Equal(t, tc.want, ok, "%s → %s", tc.from, tc.to)
	}
	_, err = hs.h.Directed(t.Context(), jid.MustParse(userBare), jid.MustParse(coven))
	require.Error(t, err, "presence from a bare JID is not a session's")
}
