package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
	"github.com/mixpam/mixpam/ns"
)

// A client changes caps while the server still waits for its answer about
// the previous ones (XEP-0405 §2.1): the verdict that counts is the one for
// the caps the client advertises now. Each case: alice/first, whose caps
// the server verified, is in the channel; alice/second advertises unknown
// caps X and, before answering the server's query for X, caps Y, which
// the server cached from alice/first.
func TestCapsChangeDuringLookup(t *testing.T) {
	for _, tc := range []struct {
		name string
		// yMIX: Y (the caps of alice/first) is MIX capable; X's answer
		// says the opposite.
		yMIX bool
	}{
		// The cached verdict applies at once, as it does after any
		// presence: channel traffic reaches alice/second right after Y.
		{"cached MIX caps while a lookup runs", true},
		// X's late MIX-capable answer is stale: alice/second no longer
		// advertises MIX, so it never comes online in the channel.
		{"stale MIX verdict after non-MIX caps", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const node = "https://example.org/first"
			srv, _ := startMIX(t)
			carol := login(t, srv, "carol", true, "mix")
			require.Equal(t, "result", join(t, carol, "j1", coven).Type)

			opts := []testclient.LoginOption{testclient.Resource("first"), testclient.Caps(node), testclient.RecordDisco()}
			y := testclient.CapsOf(node)
			if tc.yMIX {
				opts = append(opts, testclient.MIXCapable())
				y = testclient.CapsOf(node, ns.MIXCore)
			}
			first := srv.Login(t, "alice", opts...)
			first.ExpectCapsQuery(t)
			require.Equal(t, "result", join(t, first, "j2", coven).Type)

			xAnswer := `<identity category="client" type="pc"/><feature var="http://jabber.org/protocol/disco#info"/>`
			if !tc.yMIX {
				xAnswer += `<feature var="urn:xmpp:mix:core:1"/>`
			}
			release, asked := make(chan struct{}), make(chan struct{})
			second := srv.Login(t, "alice", testclient.Resource("second"), testclient.NoPresence(), testclient.DiscoAnswer(func(n string) string {
				if strings.Contains(n, "example.org/other") {
					close(asked)
					<-release // the client is slow to answer about X
				}
				return xAnswer
			}))
			second.Send(t, capsPresence("https://example.org/other", fillerVer(t, "unknown")))
			<-asked
			second.Send(t, capsPresence(node, y.Ver))
			first.Expect(t, "alice/second's presence with caps Y", func(p packet.Packet) bool {
				return p.Kind == packet.Presence && strings.Contains(string(p.Raw), y.Ver)
			})

			if tc.yMIX {
				carol.Send(t, `<message type="groupchat" to="`+coven+`" id="m1"><body>by the pricking of my thumbs</body></message>`)
				first.Expect(t, "the post on alice/first", testclient.Contains(packet.Message, "pricking"))
				close(release)
				second.ExpectWithin(t, 2*time.Second, "the post on a client whose new caps are cached MIX capable", testclient.Contains(packet.Message, "pricking"))
				return
			}
			close(release)
			// The answer about X is handled before second's ping
			// (capsanswer.go); the channel's presence fan-out is in
			// process and ordered before carol's ping.
			second.Ping(t)
			carol.Ping(t)
			carol.ExpectNone(t, "alice/second online in the channel while it advertises non-MIX caps", testclient.Contains(packet.Presence, "/second"))
		})
	}
}
