package pam

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"log/slog"

	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/rawstanza"
)

// Answers the handler makes up when the channel's own cannot be forwarded.
var (
	joinTimeoutError = rawstanza.Error(stanza.Wait, stanza.RemoteServerTimeout,
		"the channel did not answer in time")
	joinInFlightError = rawstanza.Error(stanza.Wait, stanza.ResourceConstraint,
		"another request with the same id is in flight to the channel; try again")
	joinSendError = rawstanza.Error(stanza.Cancel, stanza.RemoteServerNotFound,
		"the request could not be sent to the channel")
	joinBadAnswerError = rawstanza.Error(stanza.Cancel, stanza.UndefinedCondition,
		"the channel answered with an unusable error")
	joinMismatchError = rawstanza.Error(stanza.Cancel, stanza.InternalServerError,
		"the server could not match the channel's answer")
)

// exchange forwards the op to the channel (XEP-0405 Listings 5 and 9) and
// acts on the answer.
func (h *JoinHandler) exchange(ctx context.Context, op *joinOp) {
	if ctx.Err() != nil {
		// The turn came too late: do not send what nobody would wait for.
		h.replyError(op, joinTimeoutError)
		return
	}
	forward := op.forward()
	// The exchange runs on a goroutine of its own, for longer than the
	// client waits: a channel that answers late may still have carried
	// the request out, and the roster must follow it (join_late.go).
	exCtx, cancel := context.WithDeadline(op.ctx, op.deadline.Add(h.joinLateAnswerWindow()))
	answer := make(chan joinExchanged, 1)
	go func() {
		resp, err := h.exchanger.Exchange(exCtx, forward, xml.NewDecoder(bytes.NewReader(op.inner)))
		answer <- joinExchanged{resp: resp, err: err}
	}()
	var got joinExchanged
	select {
	case got = <-answer:
		cancel()
	case <-ctx.Done():
		h.replyError(op, joinTimeoutError)
		h.awaitLate(op, answer, cancel)
		return
	}
	switch {
	case errors.Is(got.err, host.ErrInFlight):
		// Only a request from outside this handler can hold the same
		// from, to and id: the handler's own run one at a time per lane.
		h.replyError(op, joinInFlightError)
		return
	case got.err != nil:
		h.log.Warn("pam: sending to channel failed", h.opAttrs(op, got.err)...)
		h.replyError(op, joinSendError)
		return
	}
	h.act(op, forward, got.resp)
}

// joinExchanged is what the Exchanger returned.
type joinExchanged struct {
	resp host.Response
	err  error
}

// act acts on the channel's answer resp to forward: changes the roster and
// answers the client (unless it already has its answer).
func (h *JoinHandler) act(op *joinOp, forward stanza.IQ, resp host.Response) {
	if !joinAnswerMatches(resp.IQ, forward) {
		// The Exchanger broke its contract; acting on this answer could
		// let a spoofed one change the roster.
		h.log.Error("pam: exchanger returned an answer that does not match the request", h.opAttrs(op, nil)...)
		h.replyError(op, joinMismatchError)
		return
	}
	// The channel has answered: what follows must complete even though the
	// request's own deadline may be near.
	post, cancel := context.WithTimeout(op.ctx, h.timeout)
	defer cancel()
	switch resp.IQ.Type {
	case stanza.ResultIQ:
		if op.leave {
			h.left(post, op, resp.Payload)
		} else {
			h.joined(post, op, resp.Payload)
		}
	case stanza.ErrorIQ:
		h.channelError(post, op, resp.Payload)
	default:
		h.log.Error("pam: exchanger returned an answer that is neither result nor error", h.opAttrs(op, nil)...)
		h.replyError(op, joinMismatchError)
	}
}

// channelError passes the channel's error on to the client (XEP-0405 §2.7:
// the server answers with the channel's response), keeping its type,
// condition, texts and application-specific elements. The roster is not
// touched.
func (h *JoinHandler) channelError(ctx context.Context, op *joinOp, payload []byte) {
	errElem, ok := joinChannelError(payload)
	if !ok {
		h.log.Warn("pam: channel sent an error without a usable <error/>", h.opAttrs(op, nil)...)
		h.send(ctx, op, joinAppendError(nil, op.id, op.user, op.client, joinBadAnswerError))
		return
	}
	h.send(ctx, op, joinAppendRawError(nil, &op.joinRequest, errElem))
}

// replyError answers the client with se, from the user's bare JID.
func (h *JoinHandler) replyError(op *joinOp, se stanza.Error) {
	ctx, cancel := context.WithTimeout(op.ctx, h.timeout)
	defer cancel()
	h.send(ctx, op, joinAppendError(nil, op.id, op.user, op.client, se))
}

// send delivers the op's one answer, unless the client already has it (it
// was told remote-server-timeout before the channel answered).
func (h *JoinHandler) send(ctx context.Context, op *joinOp, raw []byte) {
	if !op.answered.CompareAndSwap(false, true) {
		return
	}
	if err := op.reply(ctx, op.client, raw); err != nil {
		h.log.Warn("pam: delivering the answer to the client failed", h.opAttrs(op, err)...)
	}
}

// opAttrs returns log attributes naming the op, and err if not nil.
func (h *JoinHandler) opAttrs(op *joinOp, err error) []any {
	attrs := []any{
		slog.String("user", op.user.String()),
		slog.String("client", op.client.String()),
		slog.String("channel", op.channel.String()),
		slog.String("id", op.id),
		slog.Bool("leave", op.leave),
	}
	if err != nil {
		attrs = append(attrs, slog.Any("error", err))
	}
	return attrs
}
