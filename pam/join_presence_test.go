package pam

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/roster"
)

// presenceCall is one call of a ChannelPresence.
type presenceCall struct {
	Left          bool
	User, Channel string
	// Answers is how many answers the client had when the call came: the
	// answer to the request notified is among them.
	Answers int
}

// recordingPresence is a ChannelPresence that records its calls.
type recordingPresence struct {
	e      *joinEnv
	client jid.JID // whose answer must come first
	err    error   // returned by every call

	mu    sync.Mutex
	calls []presenceCall
}

func (p *recordingPresence) Joined(_ context.Context, user, channel jid.JID) error {
	return p.record(false, user, channel)
}

func (p *recordingPresence) Left(_ context.Context, user, channel jid.JID) error {
	return p.record(true, user, channel)
}

func (p *recordingPresence) record(left bool, user, channel jid.JID) error {
	call := presenceCall{Left: left, User: user.String(), Channel: channel.String(), Answers: p.answers()}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, call)
	return p.err
}

// answers counts the IQ answers delivered to the client so far.
func (p *recordingPresence) answers() int {
	answers := 0
	for _, d := range p.e.rec.To(p.client) {
		dec := xml.NewDecoder(bytes.NewReader(d.Stanza))
		tok, err := dec.Token()
		if err != nil {
			continue
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if iq, err := stanza.NewIQ(start); err == nil && start.Name.Local == "iq" &&
			(iq.Type == stanza.ResultIQ || iq.Type == stanza.ErrorIQ) {
			answers++
		}
	}
	return answers
}

func (p *recordingPresence) got() []presenceCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]presenceCall(nil), p.calls...)
}

// newPresenceEnv builds a test network whose JoinHandler tells a
// recordingPresence, which returns err.
func newPresenceEnv(t *testing.T, cfg JoinConfig, store func(roster.Store) roster.Store, err error) (*joinEnv, *recordingPresence) {
	p := &recordingPresence{client: testClientA, err: err}
	cfg.Presence = p
	e := newJoinEnv(t, cfg, store)
	p.e = e
	return e, p
}

func TestJoinTellsPresence(t *testing.T) {
	call := func(left bool, answers int) presenceCall {
		return presenceCall{Left: left, User: testUser.String(), Channel: testChannel.String(), Answers: answers}
	}
	for _, tc := range []struct {
		name string
		cfg  JoinConfig
		// store, if not nil, wraps the roster store.
		store func(roster.Store) roster.Store
		// run sends the requests and waits for their answers.
		run  func(t *testing.T, e *joinEnv)
		want []presenceCall
	}{
		{
			name: "join",
			run: func(t *testing.T, e *joinEnv) {
				newMemberChannel(e, testChannel)
				e.join(testClientA, "j1", testChannel, testJoin)
				require.Equal(t, stanza.ResultIQ, e.awaitAnswer(testClientA, "j1").IQ.Type)
			},
			want: []presenceCall{call(false, 1)},
		},
		{
			name: "join then leave",
			run: func(t *testing.T, e *joinEnv) {
				newMemberChannel(e, testChannel)
				e.join(testClientA, "j1", testChannel, testJoin)
				e.leave(testClientA, "l1", testChannel)
				require.Equal(t, stanza.ResultIQ, e.awaitAnswer(testClientA, "l1").IQ.Type)
			},
			want: []presenceCall{call(false, 1), call(true, 2)},
		},
		{
			name: "leave confirmed without a roster item",
			run: func(t *testing.T, e *joinEnv) {
				e.setChannel(testChannel, func(req testStanza) {
					e.reply(req, stanza.ResultIQ, `<leave xmlns="urn:xmpp:mix:core:1"/>`)
				})
				e.leave(testClientA, "l1", testChannel)
				require.Equal(t, stanza.ResultIQ, e.awaitAnswer(testClientA, "l1").IQ.Type)
			},
			want: []presenceCall{call(true, 1)},
		},
		{
			name: "channel error",
			run: func(t *testing.T, e *joinEnv) {
				e.setChannel(testChannel, func(req testStanza) {
					e.reply(req, stanza.ErrorIQ, `<error type="cancel"><not-allowed xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">no</text></error>`)
				})
				e.join(testClientA, "j1", testChannel, testJoin)
				e.leave(testClientA, "l1", testChannel)
				requireError(t, e.awaitAnswer(testClientA, "l1"), stanza.Cancel, stanza.NotAllowed)
			},
		},
		{
			name: "timeout",
			cfg:  JoinConfig{Timeout: 50 * time.Millisecond},
			run: func(t *testing.T, e *joinEnv) {
				e.join(testClientA, "j1", testChannel, testJoin)
				requireError(t, e.awaitAnswer(testClientA, "j1"), stanza.Wait, stanza.RemoteServerTimeout)
			},
		},
		{
			name:  "join not recorded",
			cfg:   JoinConfig{StoreAttempts: 1},
			store: func(s roster.Store) roster.Store { return &failingStore{Store: s, putFails: -1} },
			run: func(t *testing.T, e *joinEnv) {
				newMemberChannel(e, testChannel)
				e.join(testClientA, "j1", testChannel, testJoin)
				requireError(t, e.awaitAnswer(testClientA, "j1"), stanza.Cancel, stanza.InternalServerError)
			},
		},
		{
			name:  "leave not recorded",
			cfg:   JoinConfig{StoreAttempts: 1},
			store: func(s roster.Store) roster.Store { return &failingStore{Store: s, delFails: -1} },
			run: func(t *testing.T, e *joinEnv) {
				newMemberChannel(e, testChannel)
				e.join(testClientA, "j1", testChannel, testJoin)
				e.leave(testClientA, "l1", testChannel)
				requireError(t, e.awaitAnswer(testClientA, "l1"), stanza.Cancel, stanza.InternalServerError)
			},
			want: []presenceCall{call(false, 1)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, p := newPresenceEnv(t, tc.cfg, tc.store, nil)
			tc.run(t, e)
			e.shutdown() // every call has returned
			require.Equal(t, tc.want, p.got())
		})
	}
}

// A presence failure is logged; the join stands and the client got its
// result.
func TestJoinPresenceFailureLogged(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))
	e, p := newPresenceEnv(t, JoinConfig{Logger: logger}, nil, errors.New("router down"))
	newMemberChannel(e, testChannel)
	e.join(testClientA, "j1", testChannel, testJoin)
	require.Equal(t, stanza.ResultIQ, e.awaitAnswer(testClientA, "j1").IQ.Type)
	e.shutdown()
	require.Len(t, p.got(), 1)
	items, _ := e.items()
	require.Len(t, items, 1, "the join stands")
	require.Len(t, e.answers(testClientA, "j1"), 1)
	require.Contains(t, logs.String(), "updating presence after the roster change failed")
	require.Contains(t, logs.String(), "router down")
}

// syncWriter serialises writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}
