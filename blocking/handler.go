package blocking

import (
	"context"
	"crypto/rand"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/rawstanza"
	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
)

// DefaultTimeout bounds the work of one blocking command when
// HandlerConfig.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// errNoSender reports a request the host handed over without from.
var errNoSender = fmt.Errorf("blocking: command without from: %w", host.ErrNoSender)

// Handler answers XEP-0191 blocking commands from a user's clients over a
// Store, for hosts that have no blocking command of their own: blocklist
// retrieval (§3.2), block (§3.3), unblock (§3.4) and unblock all (§3.5).
// Each change is pushed to the user's online resources that have requested
// the blocklist, in the order the changes were made. Build it with NewHandler; it is safe for concurrent use.
//
// The commands of one user run one at a time, and each delivers its pushes
// and then its answer before the next one starts: a resource sees pushes and
// answers in the order the blocklist changed, and the blocklist in an answer
// to a retrieval includes every change pushed before it. Everything is
// delivered through the Router while that user's lock is held: the Router
// must queue rather than wait for the session it delivers to (as a mellium
// Session.Send from within that session's own handler would).
//
// XEP-0191 §3.3–3.5 ask for pushes only to the resources "that have
// requested the blocklist": a blocklist get records the request on the
// session (Sessions.SetBlocklistRequested), and pushes go to the resources
// whose BlocklistRequested flag is set. Clients answer pushes with IQ
// results addressed to the user's bare JID, which the host drops.
//
// The presence that XEP-0191 §3.3 and §3.4 ask for on block and unblock is
// the host's presence engine's job: the Handler tells it of each change
// through the PresenceUpdater given as HandlerConfig.Presence.
type Handler struct {
	store    Store
	sessions Sessions
	router   host.Router
	presence PresenceUpdater
	logger   *slog.Logger
	timeout  time.Duration
	locks    *userLocks
	limits   Limits
}

// HandlerConfig configures a Handler. Store, Sessions and Router are
// required; the other fields may be left zero.
type HandlerConfig struct {
	// Store keeps the blocklists. Required.
	Store Store
	// Sessions lists the resources pushes go to and records which
	// requested the blocklist. Required.
	Sessions Sessions
	// Router delivers answers and pushes. Required.
	Router host.Router
	// Presence, if not nil, is told of every change of a blocklist, so
	// that presence follows it (XEP-0191 §3.3, §3.4): after the change is
	// stored and pushed, before the command is answered. Without it no
	// presence is sent.
	Presence PresenceUpdater
	// Limits bound each blocklist; zero fields mean the defaults.
	Limits Limits
	// Timeout bounds the work of each command (waiting for the user's
	// other commands, storage, pushes), so that the client is answered in
	// bounded time. Zero means DefaultTimeout.
	Timeout time.Duration
	// Logger receives refused commands at debug level, failed pushes at
	// warning level, storage failures and commands that ran out of time at
	// error level. Nil discards everything.
	Logger *slog.Logger
}

// NewHandler returns a Handler for c. It returns an error, and no Handler,
// when a required field of c is missing or Timeout is negative.
func NewHandler(c HandlerConfig) (*Handler, error) {
	switch {
	case c.Store == nil:
		return nil, errors.New("blocking: HandlerConfig.Store is required")
	case c.Sessions == nil:
		return nil, errors.New("blocking: HandlerConfig.Sessions is required")
	case c.Router == nil:
		return nil, errors.New("blocking: HandlerConfig.Router is required")
	case c.Timeout < 0:
		return nil, errors.New("blocking: HandlerConfig.Timeout must not be negative")
	}
	h := &Handler{
		store:    c.Store,
		sessions: c.Sessions,
		router:   c.Router,
		presence: c.Presence,
		logger:   c.Logger,
		timeout:  c.Timeout,
		locks:    newUserLocks(),
		limits:   c.Limits.withDefaults(),
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.timeout == 0 {
		h.timeout = DefaultTimeout
	}
	return h, nil
}

// ServeIQ implements host.IQHandler: it handles one blocking command and
// answers it through reply: an IQ result, or an IQ error, to iq.From, from
// the entity the command was addressed to (the user's bare JID for a command
// without to, as XEP-0191 commands are sent), with the request's id. Hand
// it the IQs of type get or set whose payload is in the urn:xmpp:blocking
// namespace. IQs of type result or error are not commands: ServeIQ reads
// nothing and answers nothing (RFC 6120 §8.2.3).
//
// iq.From must be the requesting session's JID as the host stamped it (RFC
// 6120 §8.1.2.1); the blocklist is that of its bare JID. iq.To must be
// empty (the XEP-0191 way), the user's bare JID or the user's domain.
// payload yields the IQ's children: the payload element (<blocklist/>,
// <block/> or <unblock/> in the urn:xmpp:blocking namespace) from its start
// token to its end token. ServeIQ reads it to the end before acting, so an
// invalid command is answered with a stanza error (jid-malformed for an
// invalid item JID, bad-request for a malformed command, forbidden for
// another user's blocklist) and changes nothing. A block command beyond the
// Limits changes nothing either: not-acceptable for an item too large,
// policy-violation when the blocklist would hold too many. A failing Store,
// or a command that waited longer than the timeout for the user's other
// commands, is answered internal-server-error.
//
// After a block or unblock that changed the blocklist, ServeIQ pushes the
// change to the user's online resources that requested the blocklist (the
// requester included, if it did) through the Router, reports it to the
// PresenceUpdater (HandlerConfig.Presence) and only then replies the
// result, so that a client holds the change by the time it learns that its
// command succeeded. A failed push is logged and does not fail the command,
// which has taken effect.
//
// The error wraps host.ErrNoSender when the host stamped no from, or is
// reply's failure to deliver the answer.
func (h *Handler) ServeIQ(ctx context.Context, iq stanza.IQ, payload xml.TokenReader, reply host.ReplyFunc) error {
	return h.serve(ctx, iq, payload, rawReply(reply))
}

// rawReply serialises an answer for reply.
func rawReply(reply host.ReplyFunc) replyFunc {
	return func(ctx context.Context, to jid.JID, answer xml.TokenReader) error {
		raw, err := xmlenc.Marshal(answer, ns.Client)
		if err != nil {
			return err
		}
		return reply(ctx, to, raw)
	}
}

// replyFunc delivers the answer to a command as tokens.
type replyFunc func(ctx context.Context, to jid.JID, answer xml.TokenReader) error

// serve is ServeIQ with the answer delivered as tokens.
func (h *Handler) serve(ctx context.Context, iq stanza.IQ, payload xml.TokenReader, reply replyFunc) error {
	if iq.Type != stanza.GetIQ && iq.Type != stanza.SetIQ {
		return nil
	}
	if iq.From.Equal(jid.JID{}) {
		return errNoSender
	}
	// The request's header as answered: addressed to the entity the answer
	// comes from, in no namespace, so that the answer is in the stanza
	// namespace of whatever stream it is written into.
	req := stanza.IQ{ID: iq.ID, From: iq.From, To: iq.To}
	if req.To.Equal(jid.JID{}) && iq.From.Localpart() != "" {
		req.To = iq.From.Bare()
	}
	cmd, serr := parseRequest(iq.Type, payload)
	if serr == nil {
		serr = checkAddresses(iq)
	}
	if serr != nil {
		h.logger.DebugContext(ctx, "blocking: refused command",
			"from", iq.From.String(), "id", iq.ID, "error", serr.Error())
		return reply(ctx, iq.From, req.Error(*serr))
	}

	// The work is bounded by the timeout; the answer is routed under the
	// caller's ctx, so that a command that ran out of time is still answered.
	work, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	user := iq.From.Bare()
	unlock, err := h.locks.lock(work, user.String())
	if err != nil {
		return reply(ctx, iq.From, h.internalError(ctx, req, err))
	}
	defer unlock()
	if cmd.op == opBlock {
		refusal, err := h.checkBlock(work, user, cmd.items)
		switch {
		case err != nil:
			return reply(ctx, iq.From, h.internalError(ctx, req, err))
		case refusal != nil:
			h.logger.DebugContext(ctx, "blocking: refused command",
				"from", iq.From.String(), "id", iq.ID, "error", refusal.Error())
			return reply(ctx, iq.From, req.Error(*refusal))
		}
	}
	if cmd.op == opList {
		// Recorded before the list is read: a change made after this
		// answer's list is pushed to the session.
		if err := h.sessions.SetBlocklistRequested(work, iq.From); err != nil && !errors.Is(err, host.ErrNoSession) {
			return reply(ctx, iq.From, h.internalError(ctx, req, err))
		}
	}
	result, err := h.run(work, user, cmd)
	if err != nil {
		return reply(ctx, iq.From, h.internalError(ctx, req, err))
	}
	return reply(ctx, iq.From, req.Result(result))
}

// ForFeatures implements info.FeatureIter: the handler's feature is
// urn:xmpp:blocking on the server (XEP-0191 §3.1).
func (h *Handler) ForFeatures(node string, f func(info.Feature) error) error {
	if node != "" {
		return nil
	}
	return f(info.Feature{Var: NS})
}

// checkAddresses accepts commands from a user's session to the user's
// server: no to, the user's bare JID or the user's domain.
func checkAddresses(iq stanza.IQ) *stanza.Error {
	if iq.From.Localpart() == "" {
		return refusal(stanza.Auth, stanza.Forbidden, "blocking commands must come from a user's session")
	}
	to := iq.To
	if to.Equal(jid.JID{}) || to.Equal(iq.From.Bare()) || to.Equal(iq.From.Domain()) {
		return nil
	}
	return refusal(stanza.Auth, stanza.Forbidden, "a user can manage only their own blocklist")
}

// run carries out cmd for user, whose lock the caller holds, pushes what
// changed, and returns the payload of the result.
func (h *Handler) run(ctx context.Context, user jid.JID, cmd request) (xml.TokenReader, error) {
	if cmd.op == opList {
		items, err := h.store.Items(ctx, user)
		if err != nil {
			return nil, err
		}
		return command("blocklist", items), nil
	}
	name, apply := "block", h.store.Block
	if cmd.op == opUnblock {
		name, apply = "unblock", h.store.Unblock
	}
	changed, err := apply(ctx, user, cmd.items...)
	if err != nil || len(changed) == 0 {
		return nil, err
	}
	pushed := changed
	if cmd.op == opUnblock && len(cmd.items) == 0 {
		// Unblock all is pushed as an empty <unblock/> (XEP-0191 §3.5).
		pushed = nil
	}
	h.push(ctx, user, name, pushed)
	if h.presence != nil {
		c := Change{User: user, Unblock: cmd.op == opUnblock, Items: changed}
		if err := h.presence.BlocklistChanged(ctx, c); err != nil {
			h.logger.WarnContext(ctx, "blocking: presence after a blocklist change failed",
				"user", user.String(), "command", name, "error", err)
		}
	}
	return nil, nil
}

// push sends an IQ set with the command to each of user's online resources
// that requested the blocklist (XEP-0191 §3.3–3.5), from the user's bare JID
// as RFC 6121 §2.1.6 has it for roster pushes.
func (h *Handler) push(ctx context.Context, user jid.JID, name string, items []jid.JID) {
	resources, err := h.sessions.Resources(ctx, user)
	if err != nil {
		h.logger.WarnContext(ctx, "blocking: cannot list resources for pushes",
			"user", user.String(), "error", err)
		return
	}
	for _, r := range resources {
		if !r.BlocklistRequested {
			continue
		}
		iq := stanza.IQ{ID: rand.Text(), Type: stanza.SetIQ, From: user, To: r.JID}
		if err := h.router.Route(ctx, r.JID, iq.Wrap(command(name, items))); err != nil {
			h.logger.WarnContext(ctx, "blocking: push failed",
				"to", r.JID.String(), "command", name, "error", err)
		}
	}
}

// internalError logs err and returns the internal-server-error answer to
// req.
func (h *Handler) internalError(ctx context.Context, req stanza.IQ, err error) xml.TokenReader {
	h.logger.ErrorContext(ctx, "blocking: command failed",
		"user", req.From.Bare().String(), "id", req.ID, "error", err)
	return req.Error(rawstanza.Error(stanza.Wait, stanza.InternalServerError, "the blocklist could not be read or changed; try again later"))
}

// command returns <name xmlns='urn:xmpp:blocking'> with an <item/> child for
// each of items.
func command(name string, items []jid.JID) xml.TokenReader {
	children := make([]xml.TokenReader, len(items))
	for i, j := range items {
		children[i] = xmlstream.Wrap(nil, xml.StartElement{
			Name: xml.Name{Space: NS, Local: "item"},
			Attr: []xml.Attr{{Name: xml.Name{Local: "jid"}, Value: j.String()}},
		})
	}
	return xmlstream.Wrap(xmlstream.MultiReader(children...), xml.StartElement{
		Name: xml.Name{Space: NS, Local: name},
	})
}
