package pam

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/roster"
)

// gatedRouter is the router of a roster.Handler: it holds the answer to the
// roster get with id gateID until release is closed, after closing held,
// and passes everything else straight to the Recorder.
type gatedRouter struct {
	*hosttest.Recorder
	held, release chan struct{}
}

const gateID = "gated-get"

func (g gatedRouter) RouteRaw(ctx context.Context, to jid.JID, raw []byte) error {
	if bytes.Contains(raw, []byte(`id="`+gateID+`"`)) {
		close(g.held)
		<-g.release
	}
	return g.Recorder.RouteRaw(ctx, to, raw)
}

// addingRoster reports each AddChannel call on adding before passing it on.
type addingRoster struct {
	ChannelRoster
	adding chan struct{}
}

func (r addingRoster) AddChannel(ctx context.Context, user jid.JID, item roster.Item) error {
	r.adding <- struct{}{}
	return r.ChannelRoster.AddChannel(ctx, user, item)
}

// A roster get and a join that the channel confirms while the get is being
// answered: the join's roster change waits for the get's answer (the
// roster.Handler's per-user lock), so the client sees the roster without
// the channel at the old version, then the push of the channel at the new
// one, then the join's result, and never caches a roster older than a push
// it already got. The scenario runs for several channels in a row, so that
// a join that does not wait would be caught even when its goroutine happens
// to run late.
func TestJoinWaitsForRosterGet(t *testing.T) {
	e := newJoinEnv(t, JoinConfig{}, nil)
	ctx := t.Context()
	for round := range 8 {
		channel := jid.MustParse(fmt.Sprintf("coven%d@mix.shakespeare.example", round))
		newMemberChannel(e, channel)
		gate := gatedRouter{Recorder: e.rec, held: make(chan struct{}), release: make(chan struct{})}
		rosters := newRoster(t, e.mem, e.sessions, gate)
		adding := make(chan struct{}, 1)
		h, err := NewJoinHandler(JoinConfig{Exchanger: e.ex, Roster: addingRoster{rosters, adding}, Timeout: testWait})
		require.NoError(t, err)
		_, before := e.items()
		e.rec.Reset()

		got := make(chan error, 1)
		go func() {
			got <- rosters.ServeIQ(ctx, stanza.IQ{Type: stanza.GetIQ, ID: gateID, From: testClientA},
				xml.NewDecoder(strings.NewReader(`<query xmlns="jabber:iq:roster"/>`)), host.RouteReplies(gate))
		}()
		<-gate.held // the get has read the roster and holds the user's lock
		require.NoError(t, h.ServeIQ(ctx, stanza.IQ{Type: stanza.SetIQ, ID: "j", From: testClientA},
			xml.NewDecoder(strings.NewReader(`<client-join xmlns="urn:xmpp:mix:pam:2" channel="`+channel.String()+`">`+testJoin+`</client-join>`)), host.RouteReplies(e.rec)))
		<-adding // the channel confirmed, and the join is at the roster
		_, ver := e.items()
		require.Equal(t, before, ver, "round %d: the join changed the roster while a get held the lock", round)
		require.Empty(t, e.pushes(testClientA), "round %d: pushed while a get held the lock", round)
		close(gate.release)
		require.NoError(t, <-got)
		require.Equal(t, stanza.ResultIQ, e.awaitAnswer(testClientA, "j").IQ.Type)
		require.NoError(t, h.Shutdown(ctx))

		toA := e.rec.To(testClientA)
		require.Len(t, toA, 3, "round %d", round)
		get, push, answer := parseTestStanza(t, toA[0]), parseTestStanza(t, toA[1]), parseTestStanza(t, toA[2])
		require.Equal(t, gateID, get.IQ.ID, "round %d: the get's answer comes first", round)
		require.NotContains(t, get.Payload, channel.String())
		require.Equal(t, before, testRosterVer(t, get.Payload))
		require.Equal(t, stanza.SetIQ, push.IQ.Type, "round %d: then the push", round)
		require.Contains(t, push.Payload, channel.String())
		require.Equal(t, before+1, testRosterVer(t, push.Payload))
		require.Equal(t, "j", answer.IQ.ID, "round %d: then the join's result", round)
	}
}

// testRosterVer returns the version of a jabber:iq:roster query, without
// the suffix of annotated sessions.
func testRosterVer(t *testing.T, payload string) uint64 {
	t.Helper()
	var q struct {
		Ver string `xml:"ver,attr"`
	}
	require.NoError(t, xml.Unmarshal([]byte(payload), &q), payload)
	v, err := strconv.ParseUint(strings.TrimSuffix(q.Ver, "+mix"), 10, 64)
	require.NoError(t, err, payload)
	return v
}

// An ordinary contact with the channel's JID is replaced by the channel item
// on join; a leave confirmed while the roster holds such a contact leaves it
// alone.
func TestJoinOrdinaryContact(t *testing.T) {
	contact := roster.Item{JID: testChannel, Name: "Coven", Subscription: roster.Both, Groups: []string{"Witches"}}
	t.Run("join replaces it", func(t *testing.T) {
		e := newJoinEnv(t, JoinConfig{}, nil)
		_, err := e.mem.Put(t.Context(), testUser, contact)
		require.NoError(t, err)
		newMemberChannel(e, testChannel)
		e.join(testClientA, "j1", testChannel, testJoin)
		require.Equal(t, stanza.ResultIQ, e.awaitAnswer(testClientA, "j1").IQ.Type)
		e.shutdown()
		items, ver := e.items()
		require.Equal(t, []roster.Item{roster.ChannelItem(testChannel, "p1", "", true)}, items)
		require.Equal(t, uint64(2), ver)
		require.Len(t, e.pushes(testClientB), 1)
	})
	t.Run("leave leaves it alone", func(t *testing.T) {
		e := newJoinEnv(t, JoinConfig{}, nil)
		_, err := e.mem.Put(t.Context(), testUser, contact)
		require.NoError(t, err)
		e.setChannel(testChannel, func(req testStanza) {
			e.reply(req, stanza.ResultIQ, `<leave xmlns="urn:xmpp:mix:core:1"/>`)
		})
		e.leave(testClientA, "l1", testChannel)
		require.Equal(t, stanza.ResultIQ, e.awaitAnswer(testClientA, "l1").IQ.Type, "the channel confirmed")
		e.shutdown()
		items, ver := e.items()
		require.Equal(t, []roster.Item{contact}, items)
		require.Equal(t, uint64(1), ver)
		require.Empty(t, e.pushes(testClientA))
	})
}

// fakeAnswers are the errors a fakeRoster returns.
type fakeAnswers struct{ add, remove, channel error }

// fakeRoster is a ChannelRoster whose answers the test sets, counting calls.
type fakeRoster struct {
	fakeAnswers

	mu                   sync.Mutex
	adds, removes, reads int
}

func (f *fakeRoster) AddChannel(context.Context, jid.JID, roster.Item) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.adds++
	return f.add
}

func (f *fakeRoster) RemoveChannel(context.Context, jid.JID, jid.JID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removes++
	return f.remove
}

func (f *fakeRoster) Channel(context.Context, jid.JID, jid.JID) (roster.Item, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.channel != nil {
		return roster.Item{}, f.channel
	}
	return roster.ChannelItem(testChannel, "p0", "", true), nil
}

// What the JoinHandler makes of each answer of its ChannelRoster.
func TestJoinRosterAnswers(t *testing.T) {
	down := errors.New("roster down")
	for _, tc := range []struct {
		name     string
		leave    bool
		roster   fakeAnswers
		attempts int    // calls of AddChannel or RemoveChannel while the client waits
		repairs  bool   // more calls may follow in the background
		text     string // in the error answered; "" for a result
		requests int    // to the channel, compensation included
	}{
		{name: "join recorded", attempts: 1, requests: 1},
		{name: "join not recorded, no channel item", roster: fakeAnswers{add: down, channel: roster.ErrNotFound},
			attempts: 3, text: "left the channel again", requests: 2},
		{name: "join not recorded, an ordinary contact", roster: fakeAnswers{add: down, channel: roster.ErrNotChannel},
			attempts: 3, text: "left the channel again", requests: 2},
		{name: "join not recorded, roster unreadable", roster: fakeAnswers{add: down, channel: down},
			attempts: 3, repairs: true, text: "left the channel again", requests: 2},
		{name: "join not recorded, channel item kept", roster: fakeAnswers{add: down},
			attempts: 3, text: "stays in your roster as before", requests: 1},
		{name: "leave recorded", leave: true, attempts: 1, requests: 1},
		{name: "leave, no item", leave: true, roster: fakeAnswers{remove: roster.ErrNotFound}, attempts: 1, requests: 1},
		{name: "leave, an ordinary contact", leave: true, roster: fakeAnswers{remove: fmt.Errorf("wrapped: %w", roster.ErrNotChannel)},
			attempts: 1, requests: 1},
		{name: "leave not recorded", leave: true, roster: fakeAnswers{remove: down},
			attempts: 3, repairs: true, text: "could not remove the channel", requests: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fr := &fakeRoster{fakeAnswers: tc.roster}
			e := newJoinEnv(t, JoinConfig{Roster: fr, StoreAttempts: 3}, nil)
			newMemberChannel(e, testChannel)
			if tc.leave {
				e.setChannel(testChannel, func(req testStanza) {
					e.reply(req, stanza.ResultIQ, `<leave xmlns="urn:xmpp:mix:core:1"/>`)
				})
				e.leave(testClientA, "r1", testChannel)
			} else {
				e.join(testClientA, "r1", testChannel, testJoin)
			}
			ans := e.awaitAnswer(testClientA, "r1")
			e.shutdown()
			if tc.text == "" {
				require.Equal(t, stanza.ResultIQ, ans.IQ.Type, ans.Payload)
			} else {
				se := requireError(t, ans, stanza.Cancel, stanza.InternalServerError)
				require.Contains(t, se.Text[""], tc.text)
			}
			fr.mu.Lock()
			defer fr.mu.Unlock()
			if tc.repairs {
				require.GreaterOrEqual(t, fr.adds+fr.removes, tc.attempts)
			} else {
				require.Equal(t, tc.attempts, fr.adds+fr.removes)
			}
			require.Len(t, e.rec.To(testChannel), tc.requests)
			require.Len(t, e.answers(testClientA, "r1"), 1)
		})
	}
}
