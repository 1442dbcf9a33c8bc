package pam

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/roster"
)

// healingStore is a roster store that breaks as the test says and works
// again after heal.
type healingStore struct {
	roster.Store
	mu          sync.Mutex
	down        bool // every call fails
	deletesDown bool // Delete fails
	loseWrite   bool // the next Put is carried out, then reported failed, and the store goes down
}

func (s *healingStore) set(f func(*healingStore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *healingStore) heal() {
	s.set(func(s *healingStore) { s.down, s.deletesDown, s.loseWrite = false, false, false })
}

func (s *healingStore) isDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down
}

func (s *healingStore) Items(ctx context.Context, user jid.JID) ([]roster.Item, uint64, error) {
	if s.isDown() {
		return nil, 0, errStoreDown
	}
	return s.Store.Items(ctx, user)
}

func (s *healingStore) Item(ctx context.Context, user, contact jid.JID) (roster.Item, error) {
	if s.isDown() {
		return roster.Item{}, errStoreDown
	}
	return s.Store.Item(ctx, user, contact)
}

func (s *healingStore) Put(ctx context.Context, user jid.JID, item roster.Item) (uint64, error) {
	s.mu.Lock()
	down, lose := s.down, s.loseWrite
	if lose {
		s.loseWrite, s.down = false, true
	}
	s.mu.Unlock()
	switch {
	case down:
		return 0, errStoreDown
	case lose:
		_, _ = s.Store.Put(ctx, user, item) // a MemStore takes it
		return 0, errStoreDown
	}
	return s.Store.Put(ctx, user, item)
}

func (s *healingStore) Delete(ctx context.Context, user, contact jid.JID) (uint64, error) {
	s.mu.Lock()
	down := s.down || s.deletesDown
	s.mu.Unlock()
	if down {
		return 0, errStoreDown
	}
	return s.Store.Delete(ctx, user, contact)
}

// isChannelPush matches a roster push of the test channel's item, with
// subscription sub.
func isChannelPush(sub roster.Subscription) func(testStanza) bool {
	return func(s testStanza) bool {
		return s.IQ.Type == stanza.SetIQ && strings.Contains(s.Payload, `jid="`+testChannel.String()+`"`) &&
			strings.Contains(s.Payload, `subscription="`+string(sub)+`"`)
	}
}

// What a channel's answer calls for, and the roster or the channel did not
// do while the client waited, is done once they work again: afterwards the
// channel does not count the user, and the roster holds no item for it
// (the client sees a removal pushed when it had seen the item).
func TestJoinRosterRepaired(t *testing.T) {
	for _, tc := range []struct {
		name   string
		joined bool                // the user joined while the store worked
		breaks func(*healingStore) // how the store fails
		leave  bool                // the request is a client-leave (else a client-join)
		// refuseLeaves makes the channel refuse leaves until the store heals.
		refuseLeaves bool
		text         string // in the error the client is answered
		pushed       bool   // the client sees the removal pushed
	}{
		{
			name: "confirmed leave, item not removed", joined: true, leave: true,
			breaks: func(s *healingStore) { s.down = true },
			text:   "could not remove the channel from your roster yet", pushed: true,
		},
		{
			name:   "confirmed join, not recorded, leave not confirmed",
			breaks: func(s *healingStore) { s.down = true }, refuseLeaves: true,
			text: "keeps trying to leave it",
		},
		{
			name:   "confirmed join undone, item stored although reported failed",
			breaks: func(s *healingStore) { s.loseWrite = true },
			text:   "left the channel again", pushed: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := &healingStore{}
			e := newJoinEnv(t, JoinConfig{StoreAttempts: 2}, func(s roster.Store) roster.Store { hs.Store = s; return hs })
			ch := newMemberChannel(e, testChannel)
			if tc.refuseLeaves {
				e.setChannel(testChannel, func(req testStanza) {
					if strings.HasPrefix(req.Payload, "<leave") && hs.isDown() {
						e.reply(req, stanza.ErrorIQ, `<error type="wait"><internal-server-error xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>`)
						return
					}
					ch.handle(req)
				})
			}
			if tc.joined {
				e.join(testClientA, "j0", testChannel, testJoin)
				require.Equal(t, stanza.ResultIQ, e.awaitAnswer(testClientA, "j0").IQ.Type)
			}

			hs.set(tc.breaks)
			if tc.leave {
				e.leave(testClientA, "r1", testChannel)
			} else {
				e.join(testClientA, "r1", testChannel, testJoin)
			}
			se := requireError(t, e.awaitAnswer(testClientA, "r1"), stanza.Cancel, stanza.InternalServerError)
			require.Contains(t, se.Text[""], tc.text)

			hs.heal()
			if tc.pushed {
				e.awaitN(testClientA, 1, isChannelPush(roster.Remove))
			}
			waitPending(t, e.h)
			_, member := ch.member(testUser)
			require.False(t, member)
			items, _ := e.items()
			require.Empty(t, items)
			require.Len(t, e.answers(testClientA, "r1"), 1, "a repair answers nobody")
		})
	}
}

// A later confirmed answer for the same user and channel makes a repair
// moot: the roster follows the newer answer, and the repair does not undo
// it when the store heals.
func TestJoinRosterRepairSuperseded(t *testing.T) {
	hs := &healingStore{}
	e := newJoinEnv(t, JoinConfig{StoreAttempts: 1}, func(s roster.Store) roster.Store { hs.Store = s; return hs })
	newMemberChannel(e, testChannel)
	e.join(testClientA, "j1", testChannel, testJoin)
	require.Equal(t, stanza.ResultIQ, e.awaitAnswer(testClientA, "j1").IQ.Type)

	hs.set(func(s *healingStore) { s.deletesDown = true })
	e.leave(testClientA, "l1", testChannel)
	requireError(t, e.awaitAnswer(testClientA, "l1"), stanza.Cancel, stanza.InternalServerError)
	require.NotZero(t, e.h.Pending(), "the removal is being repaired")

	e.join(testClientB, "j2", testChannel, testJoin) // Put works: recorded
	require.Equal(t, stanza.ResultIQ, e.awaitAnswer(testClientB, "j2").IQ.Type)
	waitPending(t, e.h)
	hs.heal()
	items, _ := e.items()
	require.Len(t, items, 1, "the join is in the roster")
	require.Equal(t, testChannel.String(), items[0].JID.String())
}

// waitPending waits until h has nothing pending: no request and no repair.
// Nothing a client sees marks that, so Pending is read every 5 ms for at
// most testWait.
func waitPending(t *testing.T, h *JoinHandler) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(testWait)
	for h.Pending() != 0 {
		select {
		case <-tick.C:
		case <-deadline:
			require.FailNow(t, "still pending", "%d", h.Pending())
		}
	}
}

// The channel carries out a leave but answers after the client was told
// remote-server-timeout: the roster still follows the channel (the removal
// is pushed), and the client gets no second answer.
func TestJoinLateAnswerFollowed(t *testing.T) {
	// The channel's late answer must come within one more timeout of the
	// client's answer; this leaves room for a loaded machine.
	e := newJoinEnv(t, JoinConfig{Timeout: 500 * time.Millisecond}, nil)
	ch := newMemberChannel(e, testChannel)
	e.join(testClientA, "j1", testChannel, testJoin)
	require.Equal(t, stanza.ResultIQ, e.awaitAnswer(testClientA, "j1").IQ.Type)

	e.setChannel(testChannel, nil) // silent from now on
	e.leave(testClientA, "l1", testChannel)
	req := e.awaitRequests(testChannel, 2)[1]
	requireError(t, e.awaitAnswer(testClientA, "l1"), stanza.Wait, stanza.RemoteServerTimeout)
	ch.handle(req) // the channel answers after all
	_, member := ch.member(testUser)
	require.False(t, member)

	e.awaitN(testClientA, 1, isChannelPush(roster.Remove))
	items, _ := e.items()
	require.Empty(t, items)
	waitPending(t, e.h)
	require.Len(t, e.answers(testClientA, "l1"), 1)
}
