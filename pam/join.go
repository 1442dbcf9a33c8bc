package pam

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/rawstanza"
	"github.com/mixpam/mixpam/ns"
)

// Defaults for the zero values of JoinConfig.
const (
	// DefaultJoinTimeout bounds a client-join or client-leave from its
	// arrival to the channel's answer.
	DefaultJoinTimeout = 30 * time.Second
	// DefaultMaxPendingJoins bounds the client-join and client-leave requests
	// of one user that are accepted and not yet finished.
	DefaultMaxPendingJoins = 8
	// DefaultStoreAttempts is how many times a roster change is tried after
	// the channel confirmed a join or leave.
	DefaultStoreAttempts = 3
)

// errNoSender reports a request the host handed over without from.
var errNoSender = fmt.Errorf("pam: client-join/client-leave IQ without the sender's full JID: %w", host.ErrNoSender)

// JoinConfig configures a JoinHandler. Exchanger and Roster are required.
type JoinConfig struct {
	// Exchanger sends the forwarded join or leave to the channel and returns
	// the channel's strictly matched answer (host.Exchange does).
	Exchanger host.Exchanger
	// Roster records joined channels as roster items and pushes the changes
	// (XEP-0405 §2.9). Give it the *roster.Handler that answers the users'
	// roster gets (a host with a roster module of its own creates one for
	// this, see package roster): its per-user lock orders each change and
	// its push with the roster gets it answers, so that a client never
	// caches a roster older than a push it already got.
	Roster ChannelRoster
	// Timeout bounds each request from its arrival until the channel's
	// answer; a request still unanswered then is answered
	// remote-server-timeout (the channel's answer is still taken for ten
	// Timeouts more, in the background). The roster update after the
	// channel's answer gets the same time again, and so does the leave
	// that undoes a join the roster could not record. It also caps the
	// wait between the tries of a roster repair. Zero means
	// DefaultJoinTimeout.
	Timeout time.Duration
	// MaxPending bounds the requests per user that are accepted and not yet
	// finished, queued ones included; beyond it a request is answered
	// resource-constraint at once. Zero means DefaultMaxPendingJoins.
	MaxPending int
	// StoreAttempts is how many times a roster change (Roster.AddChannel or
	// Roster.RemoveChannel) is tried after the channel confirmed, waiting
	// 10 ms, 20 ms, … between tries, while the client waits. Zero means
	// DefaultStoreAttempts. A change still not made then is repaired in the
	// background after the client was answered: tried again, the waits
	// doubling on up to Timeout, until the roster takes it, a later
	// confirmed answer for the same channel makes it moot, or Shutdown.
	StoreAttempts int
	// Presence, if not nil, is told of every join and leave once the
	// channel confirmed it and the roster recorded it, after the client was
	// answered; its errors are logged. Give it the *presence.Handler that
	// carries the users' presence to and from channels: without it, the
	// clients already online stay invisible to a channel they join until
	// they send presence again, and the presence the channel sends right
	// after the join can be lost (it may arrive before the roster holds the
	// channel).
	Presence ChannelPresence
	// Logger receives warnings about failed deliveries and roster changes.
	// Nil discards them.
	Logger *slog.Logger
}

// JoinHandler joins and leaves MIX channels on behalf of a user's clients:
// the client-join and client-leave commands of XEP-0405 §2.6–2.8, keeping the
// channel's roster item in step (§2.9).
//
// For each request it forwards the client's <join/> or <leave/> verbatim to
// the channel, from the user's bare JID and with the client's IQ id; waits
// for the channel's answer through the Exchanger (which ignores any answer
// not from exactly the channel, to exactly the user's bare JID, with that
// id); on a result, and only then, adds or removes the roster item through
// the ChannelRoster, which pushes the change to every interested resource (RFC 6121 §2.1.6);
// answers the client from the user's bare JID with the same id, wrapping
// the channel's answer verbatim; and finally, after a recorded join or
// leave, tells the ChannelPresence, if any.
//
// Requests of one user for one channel run one at a time, in arrival order.
// This makes the roster follow the channel's answers in the order the
// channel gave them, and lets two resources reuse one IQ id: the forwarded
// requests (both from the bare JID, to the channel, with that id) would be
// indistinguishable if they were in flight together, so the second waits for
// the first instead.
//
// Every accepted request is answered exactly once: within Timeout of its
// arrival when the channel is silent (time spent waiting for its turn
// counts), and otherwise within at most two further Timeouts, for the
// roster update and, when the roster fails, the leave that undoes a join.
// A client told remote-server-timeout does not know the channel's state;
// the handler goes on waiting for the channel's answer in the background,
// up to ten Timeouts past the deadline, and a late result still changes
// the roster, in order with the user's later requests for the channel (the
// push tells the client). An answer later than that changes nothing here
// (the Exchange no longer takes it), and the client settles it by sending
// the request again.
//
// Once the channel confirmed a join or leave, the roster follows, if not
// while the client waits then in the background as soon as the store
// works again (see JoinConfig.StoreAttempts): whenever the handler is idle
// and the store works, the user's roster holds a channel item exactly for
// the channels whose last answer the handler saw was a confirmed join.
//
// A JoinHandler is safe for concurrent use. Create it with NewJoinHandler.
type JoinHandler struct {
	exchanger     host.Exchanger
	roster        ChannelRoster
	presence      ChannelPresence
	log           *slog.Logger
	timeout       time.Duration
	maxPending    int
	storeAttempts int

	mu      sync.Mutex
	lanes   map[joinLaneKey]*joinLane
	perUser map[string]int // bare JID → requests accepted and not finished
	repairs map[joinLaneKey]*joinRepair
	late    map[joinLaneKey]map[*joinLate]struct{} // answers awaited after the deadline
	seq     uint64                                 // numbers the accepted requests
	pending int                                    // requests accepted and not finished, and repairs running
	closed  bool
	drained chan struct{} // closed when pending reaches 0 after Shutdown

	stopped context.Context    // done once Shutdown was called
	stop    context.CancelFunc // ends stopped
}

// joinLaneKey names the queue of one user's requests for one channel.
type joinLaneKey struct{ user, channel string }

// joinLane is the FIFO of one user's requests for one channel: each request
// waits for the previous one to finish.
type joinLane struct {
	tail chan struct{} // closed when the newest request has finished
	ops  int           // requests in the lane, running or waiting
}

// joinReply delivers one answer to the client: the host's ReplyFunc.
type joinReply = host.ReplyFunc

// joinOp is one accepted request on its way.
type joinOp struct {
	joinRequest
	ctx      context.Context // the caller's values, never cancelled
	deadline time.Time
	lane     joinLaneKey
	reply    joinReply
	answered atomic.Bool // the client has its one answer
	seq      uint64      // later requests have higher numbers
}

// NewJoinHandler returns a JoinHandler for c.
func NewJoinHandler(c JoinConfig) (*JoinHandler, error) {
	switch {
	case c.Exchanger == nil:
		return nil, errors.New("pam: JoinConfig.Exchanger is required")
	case c.Roster == nil:
		return nil, errors.New("pam: JoinConfig.Roster is required")
	case c.Timeout < 0 || c.MaxPending < 0 || c.StoreAttempts < 0:
		return nil, errors.New("pam: JoinConfig Timeout, MaxPending and StoreAttempts must not be negative")
	}
	h := &JoinHandler{
		exchanger:     c.Exchanger,
		roster:        c.Roster,
		presence:      c.Presence,
		log:           c.Logger,
		timeout:       c.Timeout,
		maxPending:    c.MaxPending,
		storeAttempts: c.StoreAttempts,
		lanes:         make(map[joinLaneKey]*joinLane),
		perUser:       make(map[string]int),
		repairs:       make(map[joinLaneKey]*joinRepair),
		late:          make(map[joinLaneKey]map[*joinLate]struct{}),
	}
	h.stopped, h.stop = context.WithCancel(context.Background())
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.timeout == 0 {
		h.timeout = DefaultJoinTimeout
	}
	if h.maxPending == 0 {
		h.maxPending = DefaultMaxPendingJoins
	}
	if h.storeAttempts == 0 {
		h.storeAttempts = DefaultStoreAttempts
	}
	return h, nil
}

// ForFeatures implements mellium's info.FeatureIter with the feature the
// handler gives the user's bare JID: urn:xmpp:mix:pam:2 (XEP-0405 §2.4).
// The node is ignored.
func (h *JoinHandler) ForFeatures(_ string, fn func(info.Feature) error) error {
	return fn(info.Feature{Var: ns.PAM})
}

// ServeIQ implements host.IQHandler: it handles a client-join or
// client-leave IQ from a client session and returns without waiting for the
// channel: the answer goes to the client through reply when it is known,
// possibly after ServeIQ returned.
//
// iq is the IQ's header, its From the session's authenticated full JID as
// stamped by the host; payload yields the IQ's children (the tokens between
// <iq> and </iq>) as an xml.Decoder yields them. ServeIQ reads payload
// before it returns and may stop at the first problem it finds.
//
// An invalid request (XEP-0405 §2.7–2.8) is answered at once with a stanza
// error: forbidden when it is addressed to another JID than the user's bare
// JID, bad-request for anything malformed or an IQ of type get,
// resource-constraint when the user already has MaxPending requests, and
// service-unavailable after Shutdown. IQs of type result and error are
// ignored: they are never answered (RFC 6120 §8.2.3, §8.3.1).
//
// ctx is used to route an immediate answer, and its values (not its
// cancellation) are passed to the work that continues after ServeIQ
// returns; that work is bounded by Timeout instead, and Shutdown waits for
// it. The error wraps host.ErrNoSender when the host stamped no from, or is
// reply's failure to deliver an immediate answer; the channel's answer
// and later failures are reported to the client, not here.
func (h *JoinHandler) ServeIQ(ctx context.Context, iq stanza.IQ, payload xml.TokenReader, reply host.ReplyFunc) error {
	return h.serve(ctx, iq, payload, reply)
}

// serve validates the request, answers it at once if it is refused, and
// otherwise starts it; reply is called exactly once for a get or set IQ.
func (h *JoinHandler) serve(ctx context.Context, iq stanza.IQ, payload xml.TokenReader, reply joinReply) error {
	if iq.Type == stanza.ResultIQ || iq.Type == stanza.ErrorIQ {
		return nil
	}
	if iq.From.String() == "" {
		return errNoSender
	}
	if iq.From.Localpart() == "" || iq.From.Resourcepart() == "" {
		// A server or a bare JID (from another server) is not a client
		// session; it gets an answer all the same (RFC 6120 §8.2.3).
		if err := xmlstream.Skip(payload); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		se := rawstanza.Error(stanza.Auth, stanza.Forbidden, "client-join and client-leave come from a client of the account (XEP-0405 §2.3, §2.6)")
		return reply(ctx, iq.From, joinAppendError(nil, iq.ID, iq.To, iq.From, se))
	}
	req, err := parseJoinRequest(iq, payload)
	if err == nil {
		err = h.admit(ctx, req, reply)
	}
	if err == nil {
		return nil
	}
	var se stanza.Error
	errors.As(err, &se) // every refusal is a stanza.Error
	from := iq.To
	if from.String() == "" {
		from = req.user
	}
	return reply(ctx, iq.From, joinAppendError(nil, iq.ID, from, iq.From, se))
}

// admit accounts for req and starts it in its lane, or refuses it with a
// stanza error.
func (h *JoinHandler) admit(ctx context.Context, req joinRequest, reply joinReply) error {
	op := &joinOp{
		joinRequest: req,
		ctx:         context.WithoutCancel(ctx),
		deadline:    time.Now().Add(h.timeout),
		lane:        joinLaneKey{user: req.user.String(), channel: req.channel.String()},
		reply:       reply,
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return rawstanza.Error(stanza.Cancel, stanza.ServiceUnavailable, "the server is shutting down")
	}
	if h.perUser[op.lane.user] >= h.maxPending {
		h.mu.Unlock()
		return rawstanza.Error(stanza.Wait, stanza.ResourceConstraint,
			"too many client-join and client-leave requests are pending; wait for their answers")
	}
	h.perUser[op.lane.user]++
	h.pending++
	h.seq++
	op.seq = h.seq
	prev, done := h.enterLane(op.lane)
	h.mu.Unlock()

	go h.run(op, prev, done)
	return nil
}

// run waits for the op's turn in its lane, then carries it out.
func (h *JoinHandler) run(op *joinOp, prev <-chan struct{}, done chan struct{}) {
	defer h.finish(op, done)
	ctx, cancel := context.WithDeadline(op.ctx, op.deadline)
	defer cancel()
	if prev != nil {
		select {
		case <-prev:
		case <-ctx.Done():
			h.replyError(op, joinTimeoutError)
			// Keep the lane in order: the next request must not start
			// before the one ahead of this one has finished.
			<-prev
			return
		}
	}
	h.exchange(ctx, op)
}

// enterLane appends a turn to the lane of key and returns the turn to wait
// for (nil when the lane was empty) and the one to close when done. The
// caller holds h.mu.
func (h *JoinHandler) enterLane(key joinLaneKey) (prev <-chan struct{}, done chan struct{}) {
	lane := h.lanes[key]
	if lane == nil {
		lane = &joinLane{}
		h.lanes[key] = lane
	}
	prev, done = lane.tail, make(chan struct{})
	lane.tail = done
	lane.ops++
	return prev, done
}

// leaveLane ends a turn that enterLane gave.
func (h *JoinHandler) leaveLane(key joinLaneKey, done chan struct{}) {
	close(done)
	h.mu.Lock()
	defer h.mu.Unlock()
	if lane := h.lanes[key]; lane != nil {
		if lane.ops--; lane.ops == 0 {
			delete(h.lanes, key)
		}
	}
}

// finish releases the op's lane turn and accounting.
func (h *JoinHandler) finish(op *joinOp, done chan struct{}) {
	h.leaveLane(op.lane, done)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.perUser[op.lane.user]--; h.perUser[op.lane.user] <= 0 {
		delete(h.perUser, op.lane.user)
	}
	h.donePending()
}

// donePending accounts for a request or repair that has finished. The
// caller holds h.mu.
func (h *JoinHandler) donePending() {
	h.pending--
	if h.pending == 0 && h.drained != nil {
		close(h.drained)
		h.drained = nil
	}
}

// Pending returns the number of requests accepted and not yet finished
// (waiting for their turn, for the channel, or for the roster update), of
// roster repairs still being tried (see JoinConfig.StoreAttempts), and of
// channel answers still awaited after the client was told
// remote-server-timeout. It is 0 whenever the handler is idle; nothing is
// left behind on any path.
func (h *JoinHandler) Pending() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pending
}

// Shutdown stops accepting requests (new ones are answered
// service-unavailable), abandons the roster repairs still being tried
// (each is logged at error level), and waits until every accepted request
// has been answered and finished, or ctx ends. Requests in progress are not
// cancelled: each is bounded by the configured timeouts. Shutdown may be
// called more than once.
func (h *JoinHandler) Shutdown(ctx context.Context) error {
	h.stop()
	h.mu.Lock()
	h.closed = true
	if h.pending == 0 {
		h.mu.Unlock()
		return nil
	}
	if h.drained == nil {
		h.drained = make(chan struct{})
	}
	drained := h.drained
	h.mu.Unlock()
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
