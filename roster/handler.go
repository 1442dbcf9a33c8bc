package roster

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strconv"
	"sync"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/rawstanza"
)

// lockStripes is the number of per-user locks a Handler keeps. Users share
// a lock when their bare JIDs hash alike; that only costs waiting.
const lockStripes = 64

// Handler is a complete RFC 6121 roster (§2.1–2.6, with XEP-0237
// versioning) over a Store, for hosts without a roster module of their own,
// plus the channel side of XEP-0405 §2.9 that every host needs (AddChannel,
// RemoveChannel, SetChannelPresence). Channel items are read-only to
// clients. Roster gets honour XEP-0405 §2.10 annotation per session.
//
// Every change of a user's roster and every roster result for that user is
// serialised, so each session sees results and pushes in version order.
// Answers and pushes are delivered through the Router while that user's lock
// is held: the Router must queue rather than wait for the session it
// delivers to (as a mellium Session.Send from within that session's own
// handler would).
//
// A Handler is safe for concurrent use. Create it with NewHandler.
type Handler struct {
	store    Store
	sessions Sessions
	router   host.Router
	pusher   Pusher
	logger   *slog.Logger
	limits   Limits
	onRemove func(ctx context.Context, user jid.JID, removed Item)

	seed  maphash.Seed
	locks [lockStripes]sync.Mutex
	bufs  sync.Pool // *[]byte for rendering answers
}

// HandlerConfig configures a Handler. Store, Sessions and Router are
// required; the other fields may be left zero.
type HandlerConfig struct {
	// Store keeps the rosters. Required.
	Store Store
	// Sessions lists the user's online sessions and keeps their flags.
	// Required.
	Sessions Sessions
	// Router delivers answers and pushes (through its raw fast path when it
	// is a host.RawRouter). Required.
	Router host.Router
	// Limits bound what a roster may hold; zero fields mean the defaults.
	Limits Limits
	// OnRemove, if not nil, is called after a client removed an item from
	// its roster (after the result and the pushes went out, without any
	// lock held), so that the host can send the presence unsubscribe and
	// unsubscribed that RFC 6121 §2.5.2 asks for. Presence subscriptions are
	// the host's business.
	OnRemove func(ctx context.Context, user jid.JID, removed Item)
	// Logger receives failed pushes and store errors at level Error and
	// refused requests at Debug. Nil discards everything.
	Logger *slog.Logger
}

// NewHandler returns a Handler for c. It returns an error, and no Handler,
// when a required field of c is missing.
func NewHandler(c HandlerConfig) (*Handler, error) {
	switch {
	case c.Store == nil:
		return nil, errors.New("roster: HandlerConfig.Store is required")
	case c.Sessions == nil:
		return nil, errors.New("roster: HandlerConfig.Sessions is required")
	case c.Router == nil:
		return nil, errors.New("roster: HandlerConfig.Router is required")
	}
	h := &Handler{
		store:    c.Store,
		sessions: c.Sessions,
		router:   c.Router,
		pusher:   Pusher{Sessions: c.Sessions, Router: c.Router},
		seed:     maphash.MakeSeed(),
		limits:   c.Limits.withDefaults(),
		onRemove: c.OnRemove,
		logger:   c.Logger,
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// ServeIQ implements host.IQHandler: it answers a client's roster get or
// roster set and sends the pushes a set causes. iq.From must be the sending
// session's full JID, as the host stamps it (RFC 6120 §8.1.2.1); payload
// yields the IQ's child element (the <query/>). The answer goes to iq.From
// through reply, from the user's bare JID, with the request's id; pushes go
// through the Handler's Router.
//
// IQs of type result or error are not requests and get no answer. Every
// request the Handler refuses gets a stanza error: forbidden for another
// user's roster, the errors of ParseQuery for malformed queries, not-allowed
// for an edit or removal of a channel item, item-not-found for the removal
// of an unknown item, not-acceptable for an item larger than the Limits
// allow (RFC 6121 §2.3.3), policy-violation for a new item in a full
// roster, internal-server-error when the store or the session registry
// fails.
//
// ServeIQ returns an error when iq.From is empty (nothing was answered),
// when payload could not be read (a bad-request was answered), or when the
// answer could not be delivered.
func (h *Handler) ServeIQ(ctx context.Context, iq stanza.IQ, payload xml.TokenReader, reply host.ReplyFunc) error {
	return h.serve(ctx, iq, payload, reply)
}

// replyFunc delivers an answer rendered as host.RawRouter expects it.
type replyFunc = host.ReplyFunc

// errNoSender reports a request the host handed over without from.
var errNoSender = fmt.Errorf("roster: the IQ has no from: %w", host.ErrNoSender)

// serve is ServeIQ.
func (h *Handler) serve(ctx context.Context, iq stanza.IQ, payload xml.TokenReader, reply replyFunc) error {
	if iq.Type != stanza.GetIQ && iq.Type != stanza.SetIQ {
		return nil
	}
	if iq.From.String() == "" {
		return errNoSender
	}
	user := iq.From.Bare()
	answer := stanza.IQ{ID: iq.ID, From: user, To: iq.From}
	if iq.To.String() != "" {
		// From the entity the request was addressed to, so that a client
		// matching answers on the request's to finds it.
		answer.From = iq.To
	}
	if iq.To.String() != "" && !iq.To.Bare().Equal(user) {
		return h.refuse(ctx, answer, reply, rawstanza.Error(stanza.Auth, stanza.Forbidden,
			"only the account's own resources may read or change its roster (RFC 6121 §2.1.5)"))
	}
	q, err := ParseQuery(iq.Type, payload)
	if err != nil {
		var se stanza.Error
		if errors.As(err, &se) {
			return h.refuse(ctx, answer, reply, se)
		}
		return errors.Join(err, h.refuse(ctx, answer, reply, badRequest("the roster query could not be read")))
	}
	if iq.Type == stanza.GetIQ {
		return h.get(ctx, answer, q, reply)
	}
	return h.set(ctx, answer, q, reply)
}

// get answers a roster get (RFC 6121 §2.2, §2.6.3; XEP-0405 §2.10).
func (h *Handler) get(ctx context.Context, answer stanza.IQ, q Query, reply replyFunc) error {
	user, session := answer.From, answer.To
	unlock := h.lock(user)
	defer unlock()
	items, ver, err := h.store.Items(ctx, user)
	if err != nil {
		h.logger.ErrorContext(ctx, "roster: reading the roster", "user", user.String(), "err", err)
		return h.refuse(ctx, answer, reply, internalError())
	}
	// The flag changes only with a get that is answered with the roster,
	// and while the user's lock is held: a change after this read waits for
	// the lock, and is then pushed with the new flag.
	if err := h.sessions.SetAnnotate(ctx, session, q.Annotate); err != nil && !errors.Is(err, host.ErrNoSession) {
		h.logger.ErrorContext(ctx, "roster: setting the annotate flag", "session", session.String(), "err", err)
		return h.refuse(ctx, answer, reply, internalError())
	}
	buf := h.buffer()
	defer h.bufs.Put(buf)
	if v, ok := cachedVer(q.Ver, q.Annotate); q.HasVer && ok && v == strconv.FormatUint(ver, 10) {
		*buf = appendEmptyResult((*buf)[:0], answer)
	} else {
		*buf = appendRoster((*buf)[:0], answer, items, ver, q.Annotate)
	}
	return reply(ctx, session, *buf)
}

// set answers a roster set (RFC 6121 §2.3–2.5).
func (h *Handler) set(ctx context.Context, answer stanza.IQ, q Query, reply replyFunc) error {
	user := answer.From
	removed, err := h.change(ctx, answer, q.Item, reply)
	if removed != nil && h.onRemove != nil {
		h.onRemove(ctx, user, *removed)
	}
	return err
}

// change applies a roster set under the user's lock, answers it and pushes
// the change. It returns the removed item for a successful removal.
func (h *Handler) change(ctx context.Context, answer stanza.IQ, it Item, reply replyFunc) (*Item, error) {
	user := answer.From
	unlock := h.lock(user)
	defer unlock()
	old, err := h.store.Item(ctx, user, it.JID)
	found := err == nil
	switch {
	case err != nil && !errors.Is(err, ErrNotFound):
		h.logger.ErrorContext(ctx, "roster: reading an item", "user", user.String(), "contact", it.JID.String(), "err", err)
		return nil, h.refuse(ctx, answer, reply, internalError())
	case found && old.Channel:
		return nil, h.refuse(ctx, answer, reply, channelNotAllowed())
	case it.Subscription == Remove && !found:
		return nil, h.refuse(ctx, answer, reply, rawstanza.Error(stanza.Cancel, stanza.ItemNotFound,
			"the item is not in the roster (RFC 6121 §2.5.3)"))
	}
	var ver uint64
	if it.Subscription == Remove {
		ver, err = h.store.Delete(ctx, user, it.JID)
	} else {
		// A client sets name and groups only; the subscription state is the
		// server's (RFC 6121 §2.1.2).
		it.Subscription, it.Ask = None, false
		if found {
			it.Subscription, it.Ask = old.Subscription, old.Ask
		}
		if err := h.checkWrite(ctx, user, it, found); err != nil {
			if se, ok := limitError(err); ok {
				return nil, h.refuse(ctx, answer, reply, se)
			}
			h.logger.ErrorContext(ctx, "roster: checking the limits", "user", user.String(), "err", err)
			return nil, h.refuse(ctx, answer, reply, internalError())
		}
		ver, err = h.store.Put(ctx, user, it)
	}
	if err != nil {
		h.logger.ErrorContext(ctx, "roster: storing an item", "user", user.String(), "contact", it.JID.String(), "err", err)
		return nil, h.refuse(ctx, answer, reply, internalError())
	}
	buf := h.buffer()
	*buf = appendEmptyResult((*buf)[:0], answer)
	err = reply(ctx, answer.To, *buf)
	h.bufs.Put(buf)
	h.push(ctx, user, it, ver)
	if it.Subscription == Remove {
		return &old, err
	}
	return nil, err
}

// push sends a push of it to all of user's resources, logging failures: the
// change is stored, and a client that missed the push sees it at its next
// roster get because the version changed.
func (h *Handler) push(ctx context.Context, user jid.JID, it Item, ver uint64) {
	if err := h.pusher.Push(ctx, user, it, ver); err != nil {
		h.logger.ErrorContext(ctx, "roster: pushing a change", "user", user.String(), "contact", it.JID.String(), "err", err)
	}
}

// refuse answers with se, and logs the refusal.
func (h *Handler) refuse(ctx context.Context, answer stanza.IQ, reply replyFunc, se stanza.Error) error {
	h.logger.DebugContext(ctx, "roster: refused a request", "session", answer.To.String(), "id", answer.ID, "condition", string(se.Condition))
	buf := h.buffer()
	defer h.bufs.Put(buf)
	*buf = appendError((*buf)[:0], answer, se)
	return reply(ctx, answer.To, *buf)
}

func internalError() stanza.Error {
	return rawstanza.Error(stanza.Wait, stanza.InternalServerError, "the roster is unavailable; try again later")
}

// lock takes user's lock and returns its release.
func (h *Handler) lock(user jid.JID) func() {
	mu := &h.locks[maphash.String(h.seed, user.String())%lockStripes]
	mu.Lock()
	return mu.Unlock
}

// buffer returns a rendering buffer; put it back in h.bufs when done.
func (h *Handler) buffer() *[]byte {
	if b, ok := h.bufs.Get().(*[]byte); ok {
		return b
	}
	return new([]byte)
}
