package archive

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/rawstanza"
	"github.com/mixpam/mixpam/internal/xmltok"
)

// NSMAM is the XEP-0313 Message Archive Management namespace and feature.
const NSMAM = "urn:xmpp:mam:2"

// Further XEP-0313 features a MAMHandler offers (§7).
const (
	// NSMAMExtended is the feature of the before-id, after-id and ids
	// fields, flipped pages and the archive metadata query.
	NSMAMExtended = NSMAM + "#extended"
	// NSMAMGroupchatField is the feature of the include-groupchat field.
	NSMAMGroupchatField = NSMAM + "#groupchat-field"
	// NSMAMGroupchatAvailable says that the user's archive holds groupchat
	// messages: here, those of the user's MIX channels.
	NSMAMGroupchatAvailable = NSMAM + "#groupchat-available"
)

// MAMFeatures returns the XEP-0030 features of the user's bare JID that a
// MAMHandler serves, for a host that builds the account's disco#info itself:
// urn:xmpp:mam:2, #extended, #groupchat-field and #groupchat-available.
func MAMFeatures() []string {
	return []string{NSMAM, NSMAMExtended, NSMAMGroupchatField, NSMAMGroupchatAvailable}
}

// Page sizes of a MAMHandler whose MAMConfig leaves them zero.
const (
	// DefaultPageSize is the number of results of a query without RSM
	// <max/>.
	DefaultPageSize = 50
	// DefaultMaxPageSize is the most results one query gets, whatever its
	// <max/> asks for.
	DefaultMaxPageSize = 250
)

// errNoSender reports a request the host handed over without from.
var errNoSender = fmt.Errorf("archive: MAM query without the requester's full JID: %w", host.ErrNoSender)

// MAMConfig configures a MAMHandler. Store is required.
type MAMConfig struct {
	// Store is the archive queried.
	Store Store
	// PageSize is the number of results of a query without RSM <max/>;
	// zero means DefaultPageSize, or MaxPageSize if that is smaller.
	PageSize int
	// MaxPageSize bounds the results of any one query (XEP-0313 §4.3.1: the
	// server may limit them); zero means DefaultMaxPageSize.
	MaxPageSize int
	// Logger receives store and delivery failures at warning level. Nil
	// discards them.
	Logger *slog.Logger
}

// MAMHandler answers XEP-0313 (urn:xmpp:mam:2) queries of a user's own
// archive from a Store, for hosts that have no MAM service of their own. It
// supports what every MAM server must (XEP-0313 §4.1, §5): filtering by
// with, start and end; XEP-0059 paging with max, after and before, including
// an empty <before/> for the last page; and form discovery with an IQ of
// type get. It also supports all of urn:xmpp:mam:2#extended (§7): the
// before-id and after-id fields (bounds that are part of the selection, and
// do not page backwards as RSM <before/> does; §8), ids (single-item
// retrieval), <flip-page/> (the page's results are sent newest first; the
// RSM <first/> and <last/> still name the page's oldest and newest) and the
// archive metadata query (an IQ get with <metadata/>).
//
// The include-groupchat field (§4.1.4) is understood, and its meaning
// follows from what the archive holds: the messages the participant server
// archived for the user, that is the groupchat messages of the user's MIX
// channels (XEP-0405 §2.11), and nothing else. So include-groupchat true,
// or no include-groupchat, selects the whole archive, and include-groupchat
// false selects nothing: the answer is an empty, complete page (the ids the
// query names must still be in the archive). A host that puts other
// messages in the Store must not use this handler for them.
//
// A query is answered with one <message/> per result, each carrying
// <result xmlns='urn:xmpp:mam:2' queryid='…' id='…'> around
// <forwarded xmlns='urn:xmpp:forward:0'> with a XEP-0203 <delay/> and the
// archived message; then the IQ result with <fin/>, whose complete='true'
// marks the last page in the direction of paging, and an RSM <set/> with
// first, last and count. Everything goes to the requesting full JID, from
// the user's bare JID, which is the archive's address (XEP-0313 §3.2.1).
//
// Errors are answered as XEP-0313 and RFC 6120 name them: forbidden for a
// query of another user's archive, bad-request for a malformed query,
// feature-not-implemented for an unsupported field or feature,
// item-not-found for an after or before id not in the archive
// (§4.3.2), internal-server-error when the store fails, and
// service-unavailable for an IQ payload that is not a MAM query.
//
// A MAMHandler is safe for concurrent use. Create it with NewMAMHandler.
type MAMHandler struct {
	store       Store
	pageSize    int
	maxPageSize int
	log         *slog.Logger
}

// NewMAMHandler returns a MAMHandler for c.
func NewMAMHandler(c MAMConfig) (*MAMHandler, error) {
	switch {
	case c.Store == nil:
		return nil, errors.New("archive: MAMConfig.Store is required")
	case c.PageSize < 0 || c.MaxPageSize < 0:
		return nil, errors.New("archive: MAMConfig page sizes must not be negative")
	}
	h := &MAMHandler{store: c.Store, pageSize: c.PageSize, maxPageSize: c.MaxPageSize, log: c.Logger}
	if h.maxPageSize == 0 {
		h.maxPageSize = DefaultMaxPageSize
	}
	if h.pageSize == 0 {
		h.pageSize = min(DefaultPageSize, h.maxPageSize)
	}
	if h.pageSize > h.maxPageSize {
		return nil, errors.New("archive: MAMConfig PageSize exceeds MaxPageSize")
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// ServeIQ implements host.IQHandler: it answers one IQ whose payload is a
// MAM <query/>. Hand it the IQs of type get or set with a
// {urn:xmpp:mam:2}query payload addressed to a local user's bare JID or to
// no one (the account itself).
//
// iq is the IQ's header, its From the session's authenticated full JID as
// stamped by the host; payload yields the IQ's children (the tokens between
// <iq> and </iq>) as an xml.Decoder yields them. ServeIQ reads payload up to
// the end of the <query/> and may stop at the first problem it finds. IQs of
// type result and error are ignored: they are never answered (RFC 6120
// §8.2.3).
//
// The result messages and then the answer go through reply before ServeIQ
// returns; reply must keep the order of the stanzas it is given. The error wraps host.ErrNoSender when the host stamped no from,
// or is reply's failure to deliver; failures of the store are answered to
// the client (internal-server-error) and logged.
func (h *MAMHandler) ServeIQ(ctx context.Context, iq stanza.IQ, payload xml.TokenReader, reply host.ReplyFunc) error {
	return h.serve(ctx, iq, payload, func(ctx context.Context, raw []byte) error {
		return reply(ctx, iq.From, raw)
	})
}

// serve answers iq through reply, which delivers one serialised stanza to
// the requester.
func (h *MAMHandler) serve(ctx context.Context, iq stanza.IQ, payload xml.TokenReader, reply mamReply) error {
	if iq.Type != stanza.GetIQ && iq.Type != stanza.SetIQ {
		return nil
	}
	if iq.From.String() == "" {
		return errNoSender
	}
	a := mamAnswer{h: h, iq: iq, owner: iq.From.Bare(), reply: reply}
	if iq.From.Resourcepart() == "" {
		// A server or a bare JID (from another server) is not a session
		// of the archive's owner (XEP-0313 §4: a user queries its own
		// archive); it gets an answer all the same (RFC 6120 §8.2.3).
		return a.error(ctx, rawstanza.Error(stanza.Auth, stanza.Forbidden, "only a session of the owner may query an archive"))
	}
	if iq.To.String() != "" && !iq.To.Equal(a.owner) {
		return a.error(ctx, rawstanza.Error(stanza.Auth, stanza.Forbidden, "only the owner may query an archive"))
	}
	start, err := mamPayload(payload)
	if err != nil {
		return a.error(ctx, err)
	}
	switch {
	case start.Name.Local == mamMetadata && iq.Type == stanza.GetIQ:
		return h.metadata(ctx, a)
	case start.Name.Local == mamMetadata:
		return a.error(ctx, mamBadRequest("archive metadata is requested with an IQ of type get"))
	case iq.Type == stanza.GetIQ:
		return a.form(ctx)
	}
	q, err := parseMAMQuery(start, payload)
	if err != nil {
		return a.error(ctx, err)
	}
	switch {
	case q.query.Max < 0:
		q.query.Max = h.pageSize
	case q.query.Max > h.maxPageSize:
		q.query.Max = h.maxPageSize
	}
	if q.noGroupchat {
		// Nothing but groupchat in this archive: the store only checks
		// the ids.
		q.query.Max = 0
	}
	page, err := h.store.Query(ctx, a.owner, q.query)
	if err != nil {
		return a.error(ctx, h.storeError(ctx, a, err))
	}
	if q.noGroupchat {
		page = Page{Complete: true}
	}
	return a.results(ctx, q, page)
}

// storeError is the answer to a query the store failed: item-not-found for
// an id not in the archive, internal-server-error (logged) otherwise.
func (h *MAMHandler) storeError(ctx context.Context, a mamAnswer, err error) stanza.Error {
	if errors.Is(err, ErrNotFound) {
		return rawstanza.Error(stanza.Cancel, stanza.ItemNotFound, "no message with that id in the archive")
	}
	h.log.WarnContext(ctx, "mixpam: MAM query failed", "owner", a.owner.String(), "err", err)
	return rawstanza.Error(stanza.Cancel, stanza.InternalServerError, "the archive is unavailable")
}

// metadata answers an archive metadata query (XEP-0313 §6) with the
// archive's first and last records, read as two one-record pages.
func (h *MAMHandler) metadata(ctx context.Context, a mamAnswer) error {
	first, err := h.store.Query(ctx, a.owner, Query{Max: 1})
	if err != nil {
		return a.error(ctx, h.storeError(ctx, a, err))
	}
	if len(first.Records) == 0 {
		return a.metadata(ctx, nil, nil)
	}
	last, err := h.store.Query(ctx, a.owner, Query{Last: true, Max: 1})
	if err != nil {
		return a.error(ctx, h.storeError(ctx, a, err))
	}
	if len(last.Records) == 0 {
		// Emptied between the two reads (a retention policy).
		return a.metadata(ctx, nil, nil)
	}
	return a.metadata(ctx, &first.Records[0], &last.Records[0])
}

// mamMetadata is the local name of the archive metadata request.
const mamMetadata = "metadata"

// mamPayload returns the start of the IQ's payload, which must be a MAM
// <query/> or <metadata/>.
func mamPayload(payload xml.TokenReader) (xml.StartElement, error) {
	for {
		tok, err := payload.Token()
		if tok == nil {
			if err == nil || err == io.EOF {
				return xml.StartElement{}, mamBadRequest("the IQ has no payload")
			}
			return xml.StartElement{}, mamReadError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "query" && t.Name.Local != mamMetadata || xmltok.Space(t, "") != NSMAM {
				return xml.StartElement{}, rawstanza.Error(stanza.Cancel, stanza.ServiceUnavailable, "not a MAM query")
			}
			return t, nil
		case xml.EndElement:
			return xml.StartElement{}, mamBadRequest("the IQ has no payload")
		}
	}
}

// ForFeatures implements mellium's info.FeatureIter with the features the
// handler gives the user's bare JID, those of MAMFeatures (XEP-0313 §7). The
// node is ignored.
func (h *MAMHandler) ForFeatures(_ string, f func(info.Feature) error) error {
	for _, v := range MAMFeatures() {
		if err := f(info.Feature{Var: v}); err != nil {
			return err
		}
	}
	return nil
}
