package pam

import (
	"context"
	"time"

	"mellium.im/xmpp/stanza"
)

// This file takes the channel's answers that come after the client was
// told remote-server-timeout. The channel may have carried such a request
// out, and the roster must follow what the channel confirmed: the answer
// is still awaited, in the background, for joinLateAnswerWindow past the
// request's deadline, and acted on in the request's lane
// (the roster is changed and pushed; the client, which has its answer, is
// not answered again) unless the channel confirmed a later request in the
// lane first. An answer later than that, or after Shutdown, is not taken
// (logged): the channel's state is then unknown to the handler.

// joinLateAnswerTimeouts and joinLateAnswerMin set how long past a
// request's deadline the channel's answer is still taken: ten Timeouts,
// and at least a minute, so that a short Timeout (a host that answers its
// clients quickly) does not make the handler give up on a channel that is
// merely slow under load.
const (
	joinLateAnswerTimeouts = 10
	joinLateAnswerMin      = time.Minute
)

// joinLateAnswerWindow returns how long past a request's deadline the
// channel's answer is still taken.
func (h *JoinHandler) joinLateAnswerWindow() time.Duration {
	return max(joinLateAnswerTimeouts*h.timeout, joinLateAnswerMin)
}

// joinLate is a request whose answer is awaited after its deadline.
type joinLate struct {
	op   *joinOp
	moot chan struct{} // closed when a later request's confirmed answer makes it moot
}

// awaitLate goes on waiting for the answer to op, the client having been
// answered already; cancel ends the exchange.
func (h *JoinHandler) awaitLate(op *joinOp, answer <-chan joinExchanged, cancel context.CancelFunc) {
	l := &joinLate{op: op, moot: make(chan struct{})}
	h.mu.Lock()
	if h.closed || h.backgroundLocked() >= maxJoinRepairs {
		h.mu.Unlock()
		cancel()
		<-answer // the exchange has ended
		h.log.Warn("pam: the channel did not answer in time, and its late answer cannot be awaited: its state is unknown",
			h.opAttrs(op, nil)...)
		return
	}
	if h.late[op.lane] == nil {
		h.late[op.lane] = make(map[*joinLate]struct{})
	}
	h.late[op.lane][l] = struct{}{}
	h.pending++
	h.mu.Unlock()
	go h.runLate(l, answer, cancel)
}

// runLate waits for l's answer and acts on it in l's lane.
func (h *JoinHandler) runLate(l *joinLate, answer <-chan joinExchanged, cancel context.CancelFunc) {
	defer h.lateFinished(l)
	var got joinExchanged
	select {
	case got = <-answer:
		cancel()
	case <-l.moot:
		cancel()
		<-answer // the exchange has ended
		return
	case <-h.stopped.Done():
		cancel()
		<-answer
		h.log.Error("pam: shutting down: a late answer of the channel is not awaited; its state is unknown", h.opAttrs(l.op, nil)...)
		return
	}
	if got.err != nil {
		h.log.Warn("pam: the channel did not answer: its state is unknown", h.opAttrs(l.op, got.err)...)
		return
	}
	h.mu.Lock()
	prev, done := h.enterLane(l.op.lane)
	h.mu.Unlock()
	defer h.leaveLane(l.op.lane, done)
	if !h.waitTurn(prev, l.moot) {
		return
	}
	h.log.Info("pam: the channel answered after the client was told remote-server-timeout; the roster follows",
		h.opAttrs(l.op, nil)...)
	h.act(l.op, l.op.forward(), got.resp)
}

// forward returns the header of the IQ that carries op to the channel:
// from the user's bare JID, with the client's id.
func (op *joinOp) forward() stanza.IQ {
	return stanza.IQ{Type: stanza.SetIQ, From: op.user, To: op.channel, ID: op.id}
}

// waitTurn waits for prev, the turn ahead in a lane (nil: none). It reports
// false when moot is closed or Shutdown was called first; either way the
// lane stays in order (prev has finished when it returns).
func (h *JoinHandler) waitTurn(prev, moot <-chan struct{}) bool {
	if prev != nil {
		select {
		case <-prev:
		case <-moot:
			<-prev
			return false
		case <-h.stopped.Done():
			<-prev
			return false
		}
	}
	select {
	case <-moot:
		return false
	default:
		return h.stopped.Err() == nil
	}
}

// lateFinished accounts for the end of l's goroutine.
func (h *JoinHandler) lateFinished(l *joinLate) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dropLate(l)
	h.donePending()
}

// dropLate forgets l. The caller holds h.mu.
func (h *JoinHandler) dropLate(l *joinLate) {
	if set := h.late[l.op.lane]; set != nil {
		delete(set, l)
		if len(set) == 0 {
			delete(h.late, l.op.lane)
		}
	}
}

// backgroundLocked returns the number of repairs and late answers being
// awaited. The caller holds h.mu.
func (h *JoinHandler) backgroundLocked() int {
	n := len(h.repairs)
	for _, set := range h.late {
		n += len(set)
	}
	return n
}
