package host

import (
	"context"
	"encoding/xml"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
)

// ReplyFunc delivers one stanza of a handler's answer to the requester: raw
// is serialised as RawRouter.RouteRaw describes (the host writes it as it
// is), to is its to attribute. The function must not keep raw. It is the one
// way an IQHandler answers: the final IQ result or error, and whatever a
// protocol sends before it (the result messages of a MAM query).
type ReplyFunc func(ctx context.Context, to jid.JID, raw []byte) error

// RouteReplies returns a ReplyFunc that delivers every reply through r,
// with r's raw fast path when it has one (RouteBytes).
func RouteReplies(r Router) ReplyFunc {
	return func(ctx context.Context, to jid.JID, raw []byte) error {
		return RouteBytes(ctx, r, to, raw)
	}
}

// IQHandler is the contract every mixpam IQ handler implements (pam's
// client-join, roster, archive's MAM, blocking, disco's account info), in
// the spirit of net/http's Handler and mellium's mux.IQHandler.
//
// ServeIQ serves one IQ: iq is its header, payload yields its children (the
// tokens between <iq> and </iq>, the payload's start element first) and is
// read before ServeIQ returns. The contract:
//
//   - Sender: iq.From is the requester's JID as the host stamped it (RFC
//     6120 §8.1.2.1: a client's from is always overwritten with its
//     session's full JID). A request without from is not served: ServeIQ
//     returns an error wrapping ErrNoSender and replies nothing. The mux
//     adapter (Mux) answers forbidden to a from that names another entity
//     than the session it serves.
//   - Replies: every request (type get or set) the handler takes gets
//     exactly one IQ answer (result or error) through reply, possibly after
//     ServeIQ has returned (a client-join waits for the channel), and within
//     a bounded time. IQs of type result and error are never answered.
//   - Not mine: an IQ the handler does not serve (another payload, an
//     address it does not answer for) gets ErrNotHandled, with nothing read
//     from payload and nothing replied; the caller routes it elsewhere or
//     answers service-unavailable.
//   - Errors: any other error is the host's failure (a reply could not be
//     delivered, the payload could not be read); refusals of the request are
//     stanza errors sent through reply, not returned.
type IQHandler interface {
	ServeIQ(ctx context.Context, iq stanza.IQ, payload xml.TokenReader, reply ReplyFunc) error
}

// IQHandlerFunc adapts a function to IQHandler, as http.HandlerFunc does.
type IQHandlerFunc func(ctx context.Context, iq stanza.IQ, payload xml.TokenReader, reply ReplyFunc) error

// ServeIQ calls f.
func (f IQHandlerFunc) ServeIQ(ctx context.Context, iq stanza.IQ, payload xml.TokenReader, reply ReplyFunc) error {
	return f(ctx, iq, payload, reply)
}

// ErrNotHandled is returned by an IQHandler (and the Dispatcher) for a
// stanza it does not serve: nothing was read or sent.
const ErrNotHandled = constError("host: stanza not handled here")
