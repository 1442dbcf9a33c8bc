package pam

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/rawstanza"
	"github.com/mixpam/mixpam/roster"
)

// ChannelRoster is the channel side of the users' rosters (XEP-0405 §2.9),
// which a JoinHandler changes once a channel confirmed a join or a leave.
// *roster.Handler implements it, and serialises each change and its push
// with the roster gets it answers for the same user.
type ChannelRoster interface {
	// AddChannel stores item, a channel item as roster.ChannelItem builds
	// it, in user's roster, replacing any item with the same JID, and pushes
	// it to user's online resources.
	AddChannel(ctx context.Context, user jid.JID, item roster.Item) error
	// RemoveChannel removes user's channel item for channel and pushes the
	// removal. It returns an error matching roster.ErrNotFound when there is
	// no such item, and one matching roster.ErrNotChannel when the item with
	// that JID is an ordinary contact, which it leaves alone.
	RemoveChannel(ctx context.Context, user, channel jid.JID) error
	// Channel returns user's channel item for channel, or an error matching
	// roster.ErrNotFound or roster.ErrNotChannel as RemoveChannel does.
	Channel(ctx context.Context, user, channel jid.JID) (roster.Item, error)
}

// This file keeps the roster in step with what the channel confirmed
// (XEP-0405 §2.9), and decides what happens when the roster cannot be
// changed after the channel accepted:
//
//   - every roster change is tried StoreAttempts times, 10 ms apart and
//     doubling, while the client waits;
//   - a join the roster cannot record is compensated: the handler sends the
//     channel a <leave/> (from the user's bare JID, with a fresh id, within
//     a Timeout of its own) so that the channel and the roster agree again,
//     and answers the client internal-server-error saying so. When the
//     roster could not even be read, it may have stored the item after all,
//     so its removal is repaired (join_repair.go). If the channel does not
//     confirm that leave, it may still count the user as a participant:
//     the leave (and then the item's removal) is repaired, and the client
//     is told so. When the roster already holds the channel (the user
//     joined again), there is nothing to undo: the channel and the roster
//     agree on the membership, the item only keeps its old details, and
//     the client is told so;
//   - a leave cannot be compensated (joining again would need the original
//     nick and subscriptions, and might get a new participant id), so the
//     removal of the item is repaired, and the client is answered
//     internal-server-error saying that it left and that the roster follows
//     (a roster push tells it when).
//
// Each such case is also logged at error level. A repair goes on in the
// background after the client was answered, until it is done, so that once
// the store (and the channel) work again the roster holds exactly the
// channels that count the user as a participant (join_repair.go); a later
// confirmed answer for the same channel makes a repair moot.
//
// An ordinary contact with the channel's JID (the user had added the
// channel's address as a contact) is replaced by the channel item on join:
// one JID is one roster item (RFC 6121 §2.1), and a channel's item is the
// participant server's to keep (XEP-0405 §2.9); the leave then removes the
// channel item, so the contact does not come back. A leave confirmed while
// the roster holds such a contact rather than a channel item leaves the
// contact alone: there is no channel item to remove.

// joinStoreRetryDelay is the wait before the second roster change attempt;
// it doubles for each further attempt.
const joinStoreRetryDelay = 10 * time.Millisecond

// Answers for roster changes that failed after the channel accepted.
var (
	joinRosterFullError = rawstanza.Error(stanza.Cancel, stanza.PolicyViolation,
		"the channel accepted the join, but your roster is full (or the item too large), "+
			"so the server left the channel again; remove an item from your roster first")
	joinCompensatedError = rawstanza.Error(stanza.Cancel, stanza.InternalServerError,
		"the channel accepted the join, but the server could not record it in your roster, "+
			"so it left the channel again; try again later")
	joinUncompensatedError = rawstanza.Error(stanza.Cancel, stanza.InternalServerError,
		"the channel accepted the join, but the server could not record it in your roster, "+
			"and the channel has not confirmed leaving again yet: the server keeps trying to leave it, "+
			"unless you join again")
	joinKeptError = rawstanza.Error(stanza.Cancel, stanza.InternalServerError,
		"the channel accepted the join, but the server could not update your roster; "+
			"you were already a participant, and the channel stays in your roster as before")
	joinLeaveStoreError = rawstanza.Error(stanza.Cancel, stanza.InternalServerError,
		"the channel confirmed that you left, but the server could not remove the channel from your roster yet; "+
			"it keeps trying (a roster push tells you when)")
)

// joined records the channel in the roster after the channel's join result
// (the ChannelRoster pushes the item), answers the client (XEP-0405 §2.7,
// §2.9), and then tells the ChannelPresence.
func (h *JoinHandler) joined(ctx context.Context, op *joinOp, payload []byte) {
	start, command, ok := joinResultCommand(payload, mixJoinName)
	if !ok {
		h.log.Warn("pam: the channel's join result carries no <join/>", h.opAttrs(op, nil)...)
	}
	item := roster.ChannelItem(op.channel, joinParticipantID(start, op.channel), "",
		joinSharesPresence(op.inner, command))
	h.supersede(op)
	err := h.retryRoster(ctx, func(ctx context.Context) error {
		return h.roster.AddChannel(ctx, op.user, item)
	})
	if err != nil {
		h.compensateJoin(ctx, op, err)
		return
	}
	h.send(ctx, op, joinAppendResult(nil, &op.joinRequest, command))
	h.notifyPresence(ctx, op)
}

// left removes the channel from the roster after the channel's leave result
// (the ChannelRoster pushes the removal), answers the client (XEP-0405
// §2.8), and then tells the ChannelPresence.
func (h *JoinHandler) left(ctx context.Context, op *joinOp, payload []byte) {
	_, command, ok := joinResultCommand(payload, mixLeaveName)
	if !ok {
		command = []byte(joinLeaveElement)
	}
	h.supersede(op)
	err := h.retryRoster(ctx, func(ctx context.Context) error { return h.removeChannel(ctx, op) })
	if err != nil {
		h.log.Error("pam: the channel confirmed a leave, but the roster item could not be removed yet; repairing",
			h.opAttrs(op, err)...)
		h.repair(op, false)
		h.send(ctx, op, joinAppendError(nil, op.id, op.user, op.client, joinLeaveStoreError))
		return
	}
	h.send(ctx, op, joinAppendResult(nil, &op.joinRequest, command))
	h.notifyPresence(ctx, op)
}

// removeChannel removes the user's channel item for op's channel; no such
// item, or an ordinary contact with the channel's JID, is success.
func (h *JoinHandler) removeChannel(ctx context.Context, op *joinOp) error {
	err := h.roster.RemoveChannel(ctx, op.user, op.channel)
	switch {
	case errors.Is(err, roster.ErrNotFound):
		return nil // nothing to remove
	case errors.Is(err, roster.ErrNotChannel):
		h.log.Debug("pam: the roster holds an ordinary contact with the channel's JID; left it alone",
			h.opAttrs(op, nil)...)
		return nil
	}
	return err
}

// compensateJoin leaves the channel again after a join the roster could not
// record, unless the roster already records the channel, repairs what is
// left to do, and tells the client.
func (h *JoinHandler) compensateJoin(ctx context.Context, op *joinOp, rosterErr error) {
	_, readErr := h.roster.Channel(ctx, op.user, op.channel)
	if readErr == nil {
		h.log.Error("pam: the roster could not update a channel the user joined again; kept the old item",
			h.opAttrs(op, rosterErr)...)
		h.send(ctx, op, joinAppendError(nil, op.id, op.user, op.client, joinKeptError))
		return
	}
	// The roster's tries may have used up ctx: the leave gets a Timeout of
	// its own.
	ctx, cancel := context.WithTimeout(op.ctx, h.timeout)
	defer cancel()
	err := h.leaveAgain(ctx, op)
	if err == nil {
		answer := joinCompensatedError
		if rosterQuota(rosterErr) {
			answer = joinRosterFullError
		}
		h.log.Error("pam: the roster could not record a join the channel accepted; left the channel again",
			h.opAttrs(op, rosterErr)...)
		if !errors.Is(readErr, roster.ErrNotFound) && !errors.Is(readErr, roster.ErrNotChannel) {
			// The roster could not be read: it may have stored the item
			// although it reported a failure.
			h.repair(op, false)
		}
		h.send(ctx, op, joinAppendError(nil, op.id, op.user, op.client, answer))
		return
	}
	h.log.Error("pam: the roster could not record a join the channel accepted, and the channel did not confirm "+
		"leaving again: the channel may count the user as a participant; repairing",
		h.opAttrs(op, errors.Join(rosterErr, err))...)
	h.repair(op, true)
	h.send(ctx, op, joinAppendError(nil, op.id, op.user, op.client, joinUncompensatedError))
}

// leaveAgain sends the channel a <leave/> from the user's bare JID with a
// fresh id, undoing op's join, and returns nil once the channel confirmed
// it with a result; anything else is an error.
func (h *JoinHandler) leaveAgain(ctx context.Context, op *joinOp) error {
	leave := stanza.IQ{Type: stanza.SetIQ, From: op.user, To: op.channel, ID: joinCompensationID()}
	resp, err := h.exchanger.Exchange(ctx, leave, xml.NewDecoder(strings.NewReader(joinLeaveElement)))
	switch {
	case err != nil:
		return err
	case !joinAnswerMatches(resp.IQ, leave):
		return errors.New("pam: exchanger returned an answer that does not match the leave")
	case resp.IQ.Type == stanza.ResultIQ:
		return nil
	}
	return fmt.Errorf("pam: the channel refused to leave: %s", resp.Payload)
}

// retryRoster calls change up to StoreAttempts times until it succeeds.
func (h *JoinHandler) retryRoster(ctx context.Context, change func(context.Context) error) error {
	delay := joinStoreRetryDelay
	for attempt := 1; ; attempt++ {
		err := change(ctx)
		if err == nil || attempt >= h.storeAttempts || rosterQuota(err) {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		}
		delay *= 2
	}
}

// rosterQuota reports whether err is the roster's Limits refusing a change,
// which no retry can make succeed.
func rosterQuota(err error) bool {
	return errors.Is(err, roster.ErrRosterFull) || errors.Is(err, roster.ErrItemTooLarge)
}

// joinAnswerMatches reports whether answer is the answer to req: from
// exactly req's to, to exactly req's from, with req's id.
func joinAnswerMatches(answer, req stanza.IQ) bool {
	return answer.From.Equal(req.To) && answer.To.Equal(req.From) && answer.ID == req.ID
}

// joinCompensationID returns a fresh IQ id for a compensating leave.
func joinCompensationID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	return "pam-leave-" + hex.EncodeToString(b[:])
}
