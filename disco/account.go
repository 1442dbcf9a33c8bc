package disco

import (
	"context"
	"encoding/xml"
	"fmt"
	"log/slog"
	"slices"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/rawstanza"
	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
)

// Authorizer decides who, besides the account's owner, may discover an
// account. Implementations must be safe for concurrent use.
type Authorizer interface {
	// MayDiscover reports whether requester may see the service discovery
	// information of account, a bare JID on this server. XEP-0030 §8 asks
	// it to report false when the account does not exist, and to report true
	// only when the account shares its presence with requester (a roster
	// item for requester's bare JID with subscription "from" or "both") or
	// requester is otherwise trusted (another server of a trusted network).
	MayDiscover(ctx context.Context, account, requester jid.JID) (bool, error)
}

// AuthorizerFunc adapts a function to the Authorizer interface.
type AuthorizerFunc func(ctx context.Context, account, requester jid.JID) (bool, error)

// MayDiscover implements Authorizer.
func (f AuthorizerFunc) MayDiscover(ctx context.Context, account, requester jid.JID) (bool, error) {
	return f(ctx, account, requester)
}

// AccountConfig configures an Account. Every field may be left zero.
type AccountConfig struct {
	// Features are mixpam's own features: urn:xmpp:mix:pam:2 and, with
	// Features.Archive, urn:xmpp:mix:pam:2#archive. Only the owner sees them:
	// XEP-0405 §2.4 advertises them "to clients for which [the server wishes]
	// to support this specification", that is, the account's own clients.
	Features Features
	// Identities are identities the host adds after account/registered, such as
	// {Category: "pubsub", Type: "pep"} (XEP-0163). Everyone allowed to see
	// the account sees the same identities (XEP-0030 §6.3).
	Identities []info.Identity
	// OwnerFeatures are features the host adds for the owner only, such as
	// "urn:xmpp:mam:2" (XEP-0313 §7) or "urn:xmpp:blocking".
	OwnerFeatures []string
	// PublicFeatures are features shown to the owner and to every requester
	// the Authorizer admits.
	PublicFeatures []string
	// Authorizer decides whether requesters other than the owner get an
	// answer. Nil admits nobody but the owner.
	Authorizer Authorizer
	// Logger receives debug records about refused requests and warnings
	// about Authorizer failures. Nil discards them.
	Logger *slog.Logger
}

// Account answers disco#info requests addressed to local accounts' bare JIDs
// on the accounts' behalf (XEP-0030 §3.1), advertising mixpam's features to
// the account's owner (XEP-0405 §2.4, §2.11).
//
// The owner is any entity whose bare JID is the account: the account's own
// clients, which XEP-0405 §2.4 has query their own bare JID. They get every
// identity and feature. Anyone else gets service-unavailable unless the
// Authorizer admits them (XEP-0030 §8), and then the identities, the
// disco#info feature and PublicFeatures only.
//
// An Account is safe for concurrent use. The zero value is not usable: call
// NewAccount.
type Account struct {
	authorizer Authorizer
	logger     *slog.Logger
	identities []info.Identity
	owner      []string // features shown to the owner
	public     []string // features shown to admitted others
}

// NewAccount returns an Account answering as cfg says, or an error when an
// identity of cfg lacks its category or type (XEP-0030 §3.1 requires both).
// It keeps copies of cfg's slices, drops repeated identities and features,
// and always lists the http://jabber.org/protocol/disco#info feature
// (XEP-0030 §3.1).
func NewAccount(cfg AccountConfig) (*Account, error) {
	for _, id := range cfg.Identities {
		if id.Category == "" || id.Type == "" {
			return nil, fmt.Errorf("disco: AccountConfig.Identities: %+v lacks its category or type", id)
		}
	}
	a := &Account{authorizer: cfg.Authorizer, logger: cfg.Logger}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	// The primary identity of an account's bare JID: category "account",
	// type "registered" of the XMPP Registrar's Service Discovery Identities
	// registry, as XEP-0030 §3.1 recommends for a server replying on behalf
	// of a hosted account.
	primary := info.Identity{Category: "account", Type: "registered"}
	seen := make(map[info.Identity]bool)
	for _, id := range append([]info.Identity{primary}, cfg.Identities...) {
		key := info.Identity{Category: id.Category, Type: id.Type, Lang: id.Lang}
		if !seen[key] {
			seen[key] = true
			a.identities = append(a.identities, id)
		}
	}
	a.public = appendUnique(nil, nsInfo)
	a.public = appendUnique(a.public, cfg.PublicFeatures...)
	a.owner = appendUnique(nil, nsInfo)
	a.owner = appendUnique(a.owner, cfg.Features.vars()...)
	a.owner = appendUnique(a.owner, cfg.OwnerFeatures...)
	a.owner = appendUnique(a.owner, cfg.PublicFeatures...)
	return a, nil
}

func appendUnique(dst []string, vs ...string) []string {
	for _, v := range vs {
		if !slices.Contains(dst, v) {
			dst = append(dst, v)
		}
	}
	return dst
}

// ServeIQ implements host.IQHandler: it answers one disco#info request
// addressed to an account. Hand it the IQs of type get or set with a
// {http://jabber.org/protocol/disco#info}query payload. iq is the request's
// header, its From the requester's address as the host stamped or verified
// it (RFC 6120 §8.1.2.1, §8.1.2.2); payload yields the IQ's children (the
// tokens between <iq> and </iq>) as an xml.Decoder yields them.
//
// The request is for the account named by iq.To, or for the sender's own
// account when iq.To is empty (RFC 6120 §10.3.3; XEP-0405 §2.4 Listing 3).
// The answer goes through reply to iq.From, from the account's
// bare JID, with the request's id.
//
// Answers, in order of precedence:
//   - bad-request: no id, no payload, broken XML, or more than one payload
//     element (RFC 6120 §8.2.3);
//   - service-unavailable: the payload is not a disco#info query, or the
//     requester is neither the owner nor admitted by the Authorizer
//     (XEP-0030 §8; the same answer whether the account exists or not);
//   - internal-server-error: the Authorizer failed;
//   - feature-not-implemented: type set (XEP-0030 §3.1 defines disco#info
//     requests as type get; RFC 6120 §8.3.3.3);
//   - item-not-found: a node (the account has no info nodes; XEP-0030 §3.2,
//     §7);
//   - a result with the identities and the features the requester may see.
//
// Hosts serving info nodes on bare JIDs (XEP-0060 nodes of a PEP service)
// dispatch those requests to their service instead.
//
// ServeIQ returns host.ErrNotHandled, having read and sent nothing, for an IQ
// that is not a request to an account: a result or error (never answered,
// RFC 6120 §8.2.3), or a request to a full JID or to a domain. The host
// routes such IQs elsewhere. It returns an error wrapping host.ErrNoSender, having read and sent
// nothing, for a request without from, and reply's error when the answer
// could not be delivered.
func (a *Account) ServeIQ(ctx context.Context, iq stanza.IQ, payload xml.TokenReader, reply host.ReplyFunc) error {
	return a.serve(ctx, iq, payload, func(ctx context.Context, to jid.JID, answer xml.TokenReader) error {
		raw, err := xmlenc.Marshal(answer, ns.Client)
		if err != nil {
			return err
		}
		return reply(ctx, to, raw)
	})
}

// replyFunc delivers an answer to the requester as tokens.
type replyFunc func(ctx context.Context, to jid.JID, answer xml.TokenReader) error

// serve is ServeIQ with the answer delivered as tokens.
func (a *Account) serve(ctx context.Context, iq stanza.IQ, payload xml.TokenReader, reply replyFunc) error {
	if iq.Type != stanza.GetIQ && iq.Type != stanza.SetIQ {
		return host.ErrNotHandled
	}
	if iq.From.Equal(jid.JID{}) {
		return errNoSender
	}
	account, ok := target(iq)
	if !ok {
		return host.ErrNotHandled
	}
	// The request's header as answered: addressed to the account, in no
	// namespace, so that the answer and its stanza-namespace children
	// (<error/>, built by mellium without a namespace) agree on one: the
	// stanza namespace of whatever stream the answer is written into.
	req := stanza.IQ{ID: iq.ID, Type: iq.Type, From: iq.From, To: account}
	return reply(ctx, iq.From, a.respond(ctx, req, payload))
}

// respond returns the answer to req, a request to the account req.To.
func (a *Account) respond(ctx context.Context, req stanza.IQ, payload xml.TokenReader) xml.TokenReader {
	account := req.To
	node, fail := readQuery(payload)
	if fail != nil {
		return req.Error(*fail)
	}
	query := queryStart(node)
	if req.ID == "" {
		return errorIQ(req, query, stanza.BadRequest, stanza.Modify, "an IQ needs an id")
	}
	owner := req.From.Bare().Equal(account)
	if !owner {
		allowed, err := a.mayDiscover(ctx, account, req.From)
		if err != nil {
			a.logger.WarnContext(ctx, "disco: authorizer failed", "account", account.String(), "requester", req.From.String(), "err", err)
			return errorIQ(req, query, stanza.InternalServerError, stanza.Wait, "cannot decide access to this account now")
		}
		if !allowed {
			a.logger.DebugContext(ctx, "disco: request refused", "account", account.String(), "requester", req.From.String())
			return errorIQ(req, query, stanza.ServiceUnavailable, stanza.Cancel, "service discovery of this account is not available")
		}
	}
	if req.Type == stanza.SetIQ {
		return errorIQ(req, query, stanza.FeatureNotImplemented, stanza.Cancel, "disco#info requests are of type get")
	}
	if node != "" {
		return errorIQ(req, query, stanza.ItemNotFound, stanza.Cancel, "the account has no such node")
	}
	features := a.public
	if owner {
		features = a.owner
	}
	return req.Result(xmlstream.Wrap(a.items(features), query))
}

func (a *Account) mayDiscover(ctx context.Context, account, requester jid.JID) (bool, error) {
	if a.authorizer == nil {
		return false, nil
	}
	return a.authorizer.MayDiscover(ctx, account, requester)
}

// items returns the identities and the given features as tokens.
func (a *Account) items(features []string) xml.TokenReader {
	r := make([]xml.TokenReader, 0, len(a.identities)+len(features))
	for _, id := range a.identities {
		r = append(r, id.TokenReader())
	}
	for _, f := range features {
		r = append(r, info.Feature{Var: f}.TokenReader())
	}
	return xmlstream.MultiReader(r...)
}

// target returns the account a request is addressed to: the bare JID in
// iq.To, or the sender's bare JID when iq.To is empty.
func target(iq stanza.IQ) (jid.JID, bool) {
	to := iq.To
	if to.Equal(jid.JID{}) {
		to = iq.From.Bare()
	}
	if to.Localpart() == "" || to.Resourcepart() != "" {
		return jid.JID{}, false
	}
	return to, true
}

// queryStart is the disco#info <query/> of a response, mirroring the
// request's node (XEP-0030 §3.2).
func queryStart(node string) xml.StartElement {
	start := xml.StartElement{Name: xml.Name{Space: nsInfo, Local: "query"}}
	if node != "" {
		start.Attr = []xml.Attr{{Name: xml.Name{Local: "node"}, Value: node}}
	}
	return start
}

// errorIQ is the error response to req, echoing the query as XEP-0030 §7
// shows.
func errorIQ(req stanza.IQ, query xml.StartElement, cond stanza.Condition, typ stanza.ErrorType, text string) xml.TokenReader {
	e := rawstanza.Error(typ, cond, text)
	answer := stanza.IQ{ID: req.ID, Type: stanza.ErrorIQ, From: req.To, To: req.From}
	return answer.Wrap(xmlstream.MultiReader(xmlstream.Wrap(nil, query), e.TokenReader()))
}
