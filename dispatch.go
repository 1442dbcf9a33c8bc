package mixpam

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/disco"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/rawstanza"
	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/pam"
	"github.com/mixpam/mixpam/presence"
)

// IQ registers one IQ handler with the routes it serves.
type IQ struct {
	Handler host.IQHandler
	Routes  []host.IQRoute
}

// Config configures a Dispatcher. Router is required; every other part is
// optional, and a stanza whose part is missing is not handled.
type Config struct {
	// Router delivers the replies of the IQ handlers (host.RouteReplies)
	// and the errors the Dispatcher answers itself.
	Router host.Router
	// Exchange takes the IQ answers to the requests mixpam's handlers sent.
	Exchange *host.Exchange
	// IQ are the handlers of IQ requests to an account's bare JID, by the
	// payloads they serve (each package's IQRoutes). A payload registered
	// twice is an error.
	IQ []IQ
	// Account configures the disco#info answers on the account's bare JID;
	// the Dispatcher adds the features of its handlers to OwnerFeatures.
	Account disco.AccountConfig
	// FanOut takes groupchat messages to bare JIDs.
	FanOut *pam.FanOut
	// Presence takes a client's broadcast presence and presence to bare
	// JIDs.
	Presence *presence.Handler
	// Resolver finds out the MIX capability of clients from their caps;
	// Flags records it (host.MemSessions, say). Both or neither.
	Resolver *disco.Resolver
	Flags    host.FlagSetter
	// Fallback serves the IQ requests to an account's bare JID that no
	// handler of IQ serves (the host's own, XEP-0199 ping say). Nil answers
	// them service-unavailable.
	Fallback host.IQHandler
	// Logger receives debug records of failures the clients were answered
	// for. Nil discards them.
	Logger *slog.Logger
}

// Dispatcher routes stanzas to mixpam's handlers (see the package doc). It
// is safe for concurrent use; build it with NewDispatcher.
type Dispatcher struct {
	cfg      Config
	reply    host.ReplyFunc
	iq       map[iqRoute]host.IQHandler
	payloads map[xml.Name]bool // the payload names of iq, of any type
	features []string
	log      *slog.Logger

	mu   sync.Mutex
	caps map[string]*capsState // by session full JID
	wg   sync.WaitGroup
}

// NewDispatcher returns a Dispatcher for cfg, or an error when cfg has no
// Router, registers a payload twice, or has only one of Resolver and Flags.
func NewDispatcher(cfg Config) (*Dispatcher, error) {
	if cfg.Router == nil {
		return nil, errors.New("mixpam: Config.Router is required")
	}
	if (cfg.Resolver == nil) != (cfg.Flags == nil) {
		return nil, errors.New("mixpam: Config needs both Resolver and Flags, or neither")
	}
	d := &Dispatcher{
		cfg:      cfg,
		reply:    host.RouteReplies(cfg.Router),
		iq:       make(map[iqRoute]host.IQHandler),
		payloads: make(map[xml.Name]bool),
		log:      cfg.Logger,
		caps:     make(map[string]*capsState),
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	var iters []any
	for _, r := range cfg.IQ {
		iters = append(iters, r.Handler)
	}
	iters = append(iters, cfg.FanOut)
	for _, it := range iters {
		if fi, ok := it.(info.FeatureIter); ok && fi != nil && !isNilFanOut(it) {
			_ = fi.ForFeatures("", func(f info.Feature) error {
				if !slices.Contains(d.features, f.Var) {
					d.features = append(d.features, f.Var)
				}
				return nil
			})
		}
	}
	account := cfg.Account
	account.OwnerFeatures = append(slices.Clone(account.OwnerFeatures), d.features...)
	a, err := disco.NewAccount(account)
	if err != nil {
		return nil, err
	}
	// Duplicates are found by registration, not by comparing handlers:
	// handlers of func types (host.IQHandlerFunc) are not comparable.
	owner := make(map[iqRoute]int)
	for i, r := range append(slices.Clone(cfg.IQ), IQ{Handler: a, Routes: disco.IQRoutes()}) {
		if r.Handler == nil {
			return nil, fmt.Errorf("mixpam: Config.IQ[%d] has no Handler", i)
		}
		for _, route := range r.Routes {
			if route.Type != stanza.GetIQ && route.Type != stanza.SetIQ {
				return nil, fmt.Errorf("mixpam: route {%s}%s of type %q: requests are of type get or set", route.Name.Space, route.Name.Local, route.Type)
			}
			k := iqRoute{route.Type, route.Name}
			if j, dup := owner[k]; dup && j != i {
				return nil, fmt.Errorf("mixpam: two handlers for IQ %s {%s}%s", route.Type, route.Name.Space, route.Name.Local)
			}
			owner[k] = i
			d.iq[k] = r.Handler
			d.payloads[route.Name] = true
		}
	}
	return d, nil
}

// iqRoute is the key of the routing table: an IQ request's type and its
// payload's name.
type iqRoute struct {
	typ  stanza.IQType
	name xml.Name
}

func isNilFanOut(v any) bool {
	f, ok := v.(*pam.FanOut)
	return ok && f == nil
}

// Features returns the disco#info features the Dispatcher's handlers give
// an account's bare JID (the owner sees them, with urn:xmpp:mix:pam:2 of
// the client-join handler and urn:xmpp:sid:0 of the fan-out).
func (d *Dispatcher) Features() []string { return slices.Clone(d.features) }

// Dispatch hands one stanza to mixpam: start is its start element, with
// from stamped by the host, and r yields what follows it (its children,
// then optionally its end element) as an xml.Decoder yields them. Hand it
//
//   - every IQ result or error before routing it,
//   - every stanza for a local account's bare JID,
//   - every presence a client sends without to (its broadcast presence).
//
// It returns host.ErrNotHandled (test with errors.Is: it may wrap why mixpam
// could not decide), having read nothing from r, for a stanza that is not
// mixpam's: the host processes it as usual (RFC 6121 §8). Any
// other error is a failure the Dispatcher could not answer for (a reply
// could not be routed, the stanza could not be read); the requester got an
// answer wherever XMPP asks for one.
func (d *Dispatcher) Dispatch(ctx context.Context, start xml.StartElement, r xml.TokenReader) error {
	switch start.Name.Local {
	case "iq":
		iq, err := stanza.NewIQ(start)
		if err != nil {
			return host.ErrNotHandled
		}
		return d.dispatchIQ(ctx, iq, xmlstream.Inner(r))
	case "message":
		if d.cfg.FanOut == nil {
			return host.ErrNotHandled
		}
		res, err := d.cfg.FanOut.ServeMessage(ctx, start, r)
		if errors.Is(err, host.ErrNotHandled) {
			return err
		}
		if err != nil {
			d.log.DebugContext(ctx, "mixpam: fan-out", "action", res.Action.String(), "err", err)
		}
		return nil
	case "presence":
		p, err := stanza.NewPresence(start)
		if err != nil || d.cfg.Presence == nil {
			return host.ErrNotHandled
		}
		if p.To.Equal(jid.JID{}) {
			return d.outbound(ctx, p, xmlstream.Inner(r))
		}
		return d.cfg.Presence.Inbound(ctx, p, xmlstream.Inner(r))
	}
	return host.ErrNotHandled
}

// DispatchRaw is Dispatch for a stanza the host holds as bytes: raw is one
// stanza serialised as host.RawRouter.RouteRaw takes it (UTF-8, no XML
// declaration, no xmlns on the top-level element), with from stamped. A
// groupchat message goes to the fan-out as bytes (pam.FanOut.ServeRaw),
// without being decoded and written again; anything else is decoded once
// and dispatched. It returns what Dispatch returns, and does not keep raw.
func (d *Dispatcher) DispatchRaw(ctx context.Context, raw []byte) error {
	if d.cfg.FanOut != nil && rawMessage(raw) {
		res, err := d.cfg.FanOut.ServeRaw(ctx, raw)
		if errors.Is(err, host.ErrNotHandled) {
			return err
		}
		if err != nil {
			d.log.DebugContext(ctx, "mixpam: fan-out", "action", res.Action.String(), "err", err)
		}
		return nil
	}
	dec := xml.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := dec.Token()
		if err != nil {
			return host.ErrNotHandled
		}
		if start, ok := tok.(xml.StartElement); ok {
			return d.Dispatch(ctx, start, dec)
		}
	}
}

// rawMessage reports whether raw starts with a message start tag, for
// ServeRaw, which reads the tag itself (and decodes what is outside
// rawxml's subset): anything else, or a message written otherwise, is
// decoded and dispatched.
func rawMessage(raw []byte) bool {
	const open = "<message"
	if len(raw) <= len(open) || string(raw[:len(open)]) != open {
		return false
	}
	switch raw[len(open)] {
	case ' ', '\t', '\n', '\r', '>', '/':
		return true
	}
	return false
}

// ServePresence implements host.PresenceHandler: it is Dispatch for a
// presence, for a host that hands presence to the Dispatcher through
// mellium's mux (host.MuxPresence). payload yields the children.
func (d *Dispatcher) ServePresence(ctx context.Context, p stanza.Presence, payload xml.TokenReader) error {
	return d.Dispatch(ctx, p.StartElement(), payload)
}

// dispatchIQ routes an IQ: answers to the Exchange, requests to the
// account's bare JID (or to no one) by payload.
func (d *Dispatcher) dispatchIQ(ctx context.Context, iq stanza.IQ, r xml.TokenReader) error {
	if iq.Type == stanza.ResultIQ || iq.Type == stanza.ErrorIQ {
		if d.cfg.Exchange == nil {
			return host.ErrNotHandled
		}
		taken, err := d.cfg.Exchange.Receive(iq, r)
		if err != nil {
			return err
		}
		if !taken {
			return host.ErrNotHandled
		}
		return nil
	}
	if iq.To.Resourcepart() != "" || iq.To.String() != "" && iq.To.Localpart() == "" {
		return host.ErrNotHandled
	}
	if iq.From.String() == "" {
		return fmt.Errorf("mixpam: IQ without from: %w", host.ErrNoSender)
	}
	if iq.Type != stanza.GetIQ && iq.Type != stanza.SetIQ {
		// RFC 6120 §8.2.3: an IQ is get, set, result or error.
		if err := xmlstream.Skip(r); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		return d.reply(ctx, iq.From, rawstanza.AppendIQError(nil, iq, stanza.Error{Type: stanza.Modify, Condition: stanza.BadRequest, Text: map[string]string{"": "an IQ is of type get, set, result or error (RFC 6120 §8.2.3)"}}))
	}
	payload, name, err := peekPayload(r)
	if err != nil {
		return d.reply(ctx, iq.From, rawstanza.AppendIQError(nil, iq, stanza.Error{Type: stanza.Modify, Condition: stanza.BadRequest}))
	}
	h, ok := d.iq[iqRoute{iq.Type, name}]
	if !ok && d.payloads[name] {
		// A payload mixpam serves, in an IQ of a type it is not sent in
		// (a set of a blocklist, a get of a block command).
		if err := xmlstream.Skip(payload); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		return d.reply(ctx, iq.From, rawstanza.AppendIQError(nil, iq, stanza.Error{Type: stanza.Modify, Condition: stanza.BadRequest, Text: map[string]string{"": "{" + name.Space + "}" + name.Local + " is not requested with an IQ of type " + string(iq.Type)}}))
	}
	if !ok {
		h = d.cfg.Fallback
	}
	if h != nil {
		err = h.ServeIQ(ctx, iq, payload, d.reply)
		if !errors.Is(err, host.ErrNotHandled) {
			return err
		}
	}
	return d.reply(ctx, iq.From, rawstanza.AppendIQError(nil, iq, stanza.Error{Type: stanza.Cancel, Condition: stanza.ServiceUnavailable}))
}

// peekPayload reads up to the first element of r and returns a reader
// yielding it and the rest, and its name.
func peekPayload(r xml.TokenReader) (xml.TokenReader, xml.Name, error) {
	g := xmlenc.Guard(r)
	for {
		tok, err := g.Token()
		if err != nil {
			return nil, xml.Name{}, err
		}
		if start, ok := tok.(xml.StartElement); ok {
			return xmlstream.MultiReader(xmlstream.Token(start.Copy()), g), start.Name, nil
		}
	}
}

// Disconnected tells the handlers that the session full ended. The
// Dispatcher knows sessions by full JID only: when a new session takes over
// the resource of an old one (RFC 6120 §7.7.2.2, conflict), call
// Disconnected for the old session before dispatching any stanza of the new
// one, or the new session's state (its caps, its presence in its channels)
// is ended with the old one's.
func (d *Dispatcher) Disconnected(ctx context.Context, full jid.JID) error {
	d.mu.Lock()
	st := d.caps[full.String()]
	delete(d.caps, full.String())
	d.mu.Unlock()
	if st != nil {
		st.lock()
		st.gone = true
		st.unlock()
	}
	if d.cfg.Presence == nil {
		return nil
	}
	return d.cfg.Presence.Disconnected(ctx, full)
}

// Close waits for the caps resolutions in progress to end.
func (d *Dispatcher) Close() { d.wg.Wait() }
