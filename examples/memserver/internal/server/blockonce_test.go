package server_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
)

// countingBlocks counts the blocklist lookups made for one user.
type countingBlocks struct {
	blocking.Store
	user jid.JID
	mu   sync.Mutex
	n    int
}

func (c *countingBlocks) Contains(ctx context.Context, user, item jid.JID) (bool, error) {
	if user.Equal(c.user) {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
	}
	return c.Store.Contains(ctx, user, item)
}

func (c *countingBlocks) take() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = 0
	return n
}

// A groupchat message delivered to two MIX-capable sessions runs the
// blocklist check once (XEP-0405 §2.12), in the fan-out, not once per copy
// plus the server's own check of the message.
func TestGroupchatBlockFilterOnce(t *testing.T) {
	alice := jid.MustParse("alice@localhost")
	blocks := &countingBlocks{Store: blocking.NewMemStore(), user: alice}
	var mix *testclient.FakeMIX
	srv := testclient.Start(t, testclient.Options{MIXDomain: mixDomain, NewMIX: testclient.NewFakeMIX(mixDomain, &mix), Blocks: blocks})
	phone := login(t, srv, "alice", true, "phone")
	laptop := login(t, srv, "alice", true, "laptop")
	bob := login(t, srv, "bob", true, "pc")
	require.Equal(t, "result", join(t, phone, "j1", coven).Type)
	require.Equal(t, "result", join(t, bob, "j2", coven).Type)
	// The channel presence the joins set off (alice's two resources and
	// bob's) is checked against alice's blocklist too; all of it must have
	// arrived before counting starts.
	for _, c := range []*testclient.Client{phone, laptop} {
		for _, from := range []string{"phone", "laptop", "pc"} {
			c.Expect(t, "channel presence of "+from, testclient.Contains(packet.Presence, `#coven@mix.localhost/`+from+`"`))
		}
		c.Ping(t)
	}

	// The lookups of one check of the channel participant, by a filter
	// whose caches are warm.
	f, err := blocking.NewFilter(blocking.FilterConfig{Checker: blocking.StoreChecker(blocks)})
	require.NoError(t, err)
	peer := blocking.Peer{JID: jid.MustParse("coven@mix.localhost/2"), Groupchat: true}
	for range 2 {
		blocks.take()
		_, err := f.Blocked(t.Context(), alice, peer)
		require.NoError(t, err)
	}
	perCheck := blocks.take()
	require.Positive(t, perCheck)

	// The first message warms the server's filter; the second counts.
	var n int
	for _, body := range []string{"Harpier cries", "tis time"} {
		bob.Send(t, `<message type="groupchat" to="`+coven+`" id="b1"><body>`+body+`</body></message>`)
		phone.Expect(t, "groupchat", testclient.Contains(packet.Message, body))
		laptop.Expect(t, "groupchat", testclient.Contains(packet.Message, body))
		phone.Ping(t)
		laptop.Ping(t)
		n = blocks.take()
	}
	// One check per message costs perCheck lookups (6 when this test was
	// written, 8 for the fan-out's); the server's own check of the
	// message and one per copy, as before, made 26.
	require.Less(t, n, 2*perCheck, "lookups for one message to two sessions: one check, not one per copy")
}
