package pam

import (
	"context"
	"log/slog"
	"time"
)

// This file finishes in the background what the channel's answers call
// for and what could not be done while the client waited (see
// join_roster.go): removing the item of a channel the user left, or whose
// join was undone, when the roster would not take the removal; and undoing
// a join the roster could not record when the channel did not confirm the
// leave that undoes it. The end state is the same either way: the channel
// does not count the user, and the roster holds no item for it. A repair
// is retried, waiting from 10 ms·2^StoreAttempts doubling up to Timeout
// between tries, until it is done (then the ChannelPresence is told of the
// leave, as for a request), a later confirmed answer for the same user and
// channel makes it moot, or Shutdown abandons it (logged at error level).
//
// Each try takes a turn in the lane of its user and channel, like a
// request, so it never overtakes or undoes what a later request recorded.
// There is at most one repair per lane, and at most maxJoinRepairs repairs
// and late answers (join_late.go) in all.

// maxJoinRepairs bounds the repairs one handler keeps; beyond it a repair
// is dropped, logged at error level, as when shutting down.
const maxJoinRepairs = 10000

// joinRepair is what a request's answer calls for and was not done yet.
type joinRepair struct {
	op *joinOp // the request
	// leave is true while the channel has not confirmed a leave that
	// undoes op's join.
	leave bool
	moot  chan struct{}
}

// repair keeps trying, in the background, to make the roster hold no item
// for op's channel, after getting the channel to confirm a leave first if
// leave is true. The caller holds op's lane turn and has called supersede
// for it.
func (h *JoinHandler) repair(op *joinOp, leave bool) {
	r := &joinRepair{op: op, leave: leave, moot: make(chan struct{})}
	h.mu.Lock()
	if h.closed || h.backgroundLocked() >= maxJoinRepairs {
		h.mu.Unlock()
		h.log.Error("pam: the roster stays out of step with the channel: shutting down or too many roster repairs",
			h.repairAttrs(r, nil)...)
		return
	}
	h.repairs[op.lane] = r
	h.pending++
	h.mu.Unlock()
	go h.runRepair(r)
}

// supersede drops the repair and the late answers awaited in op's lane
// for requests older than op: the channel confirmed op, and the roster
// follows that answer instead. The caller holds op's lane turn.
func (h *JoinHandler) supersede(op *joinOp) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.repairs[op.lane]; r != nil && r.op.seq < op.seq {
		delete(h.repairs, op.lane)
		close(r.moot)
	}
	for l := range h.late[op.lane] {
		if l.op.seq < op.seq {
			h.dropLate(l)
			close(l.moot)
		}
	}
}

// runRepair tries r until it is done, moot or abandoned.
func (h *JoinHandler) runRepair(r *joinRepair) {
	defer h.repairFinished(r)
	delay := joinStoreRetryDelay << min(h.storeAttempts, 16)
	for {
		t := time.NewTimer(min(delay, h.timeout))
		select {
		case <-t.C:
		case <-r.moot:
			t.Stop()
			return
		case <-h.stopped.Done():
			t.Stop()
		}
		var err error
		if h.stopped.Err() == nil {
			var done bool
			if done, err = h.tryRepair(r); done {
				return
			}
		}
		if h.stopped.Err() != nil {
			h.log.Error("pam: shutting down: the roster stays out of step with the channel", h.repairAttrs(r, err)...)
			return
		}
		h.log.Warn("pam: repairing the roster failed; trying again", h.repairAttrs(r, err)...)
		delay *= 2
	}
}

// tryRepair makes one try in r's lane turn. It reports whether r is done
// (carried out, moot or abandoned), or the roster's error.
func (h *JoinHandler) tryRepair(r *joinRepair) (bool, error) {
	h.mu.Lock()
	prev, done := h.enterLane(r.op.lane)
	h.mu.Unlock()
	defer h.leaveLane(r.op.lane, done)
	if !h.waitTurn(prev, r.moot) {
		return h.stopped.Err() == nil, h.stopped.Err()
	}
	ctx, cancel := context.WithTimeout(r.op.ctx, h.timeout)
	defer cancel()
	defer context.AfterFunc(h.stopped, cancel)()
	if r.leave {
		if err := h.leaveAgain(ctx, r.op); err != nil {
			return false, err
		}
		r.leave = false
	}
	if err := h.removeChannel(ctx, r.op); err != nil {
		return false, err
	}
	h.log.Info("pam: repaired: the channel does not count the user, and the roster holds no item for it",
		h.repairAttrs(r, nil)...)
	left := &joinOp{joinRequest: r.op.joinRequest}
	left.leave = true
	h.notifyPresence(ctx, left)
	return true, nil
}

// repairFinished accounts for the end of r's goroutine.
func (h *JoinHandler) repairFinished(r *joinRepair) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.repairs[r.op.lane] == r {
		delete(h.repairs, r.op.lane)
	}
	h.donePending()
}

// repairAttrs returns log attributes naming r, and err if not nil.
func (h *JoinHandler) repairAttrs(r *joinRepair, err error) []any {
	return append(h.opAttrs(r.op, err), slog.Bool("leaving_channel", r.leave))
}
