package mixservice

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"strings"
	"sync"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
)

// Config configures a Service.
type Config struct {
	// Domain is the service's domain, e.g. "mix.localhost". Channels are
	// name@Domain.
	Domain string
	// Router is the server's router. The service sends every stanza through
	// it (with host.RouteBytes, so a host.RawRouter's fast path is used),
	// from the service, channel or encoded participant JIDs it owns.
	Router host.Router
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
	// Secret keys the HMAC that derives Stable Participant IDs from the
	// channel and the user's bare JID. Nil means 32 random bytes: ids are
	// then stable for the life of the Service, which holds all its state in
	// memory anyway.
	Secret []byte
	// Limits bounds what peers can make the service keep. Zero fields take
	// the defaults of DefaultLimits.
	Limits Limits
}

// Limits bounds the state that peers can grow.
type Limits struct {
	// Channels is the number of channels on the service.
	Channels int
	// ChannelsPerOwner is the number of channels one bare JID may own.
	ChannelsPerOwner int
	// Participants is the number of participants of one channel.
	Participants int
	// NameBytes is the length of a channel name, in bytes.
	NameBytes int
	// NickBytes is the length of a nick, in bytes, after PRECIS
	// normalisation.
	NickBytes int
	// Resources is the number of a participant's clients whose presence a
	// channel keeps.
	Resources int
	// PresenceBytes is the size of the content of one client's presence
	// (what the channel stores and relays: show, status, caps…).
	PresenceBytes int
	// Pending is the number of stanzas (a message to all participants
	// counts once) waiting to be routed for one channel, or for the service
	// itself. Past it, new stanzas are refused with resource-constraint.
	Pending int
}

// DefaultLimits returns the limits of a Service whose Config.Limits leaves
// them zero.
func DefaultLimits() Limits {
	return Limits{
		Channels:         1000,
		ChannelsPerOwner: 10,
		Participants:     1000,
		NameBytes:        64,
		NickBytes:        64,
		Resources:        16,
		PresenceBytes:    4096,
		Pending:          1024,
	}
}

// withDefaults returns l with every zero or negative field set to its
// default.
func (l Limits) withDefaults() Limits {
	def := DefaultLimits()
	for _, f := range []struct{ v, d *int }{
		{&l.Channels, &def.Channels},
		{&l.ChannelsPerOwner, &def.ChannelsPerOwner},
		{&l.Participants, &def.Participants},
		{&l.NameBytes, &def.NameBytes},
		{&l.NickBytes, &def.NickBytes},
		{&l.Resources, &def.Resources},
		{&l.PresenceBytes, &def.PresenceBytes},
		{&l.Pending, &def.Pending},
	} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	return l
}

// Errors returned by Deliver.
var (
	// ErrClosed is returned by Deliver after Close.
	ErrClosed = errors.New("mixservice: service closed")
	// ErrNotStanza is returned by Deliver for bytes that do not start with
	// a message, presence or iq element in a stanza namespace, or whose
	// element repeats one of its from, to, id, type or xml:lang
	// attributes: it is unclear whom to answer.
	ErrNotStanza = errors.New("mixservice: not a stanza")
	// ErrNoSender is returned by Deliver for a stanza without a from
	// attribute: there is nobody to answer.
	ErrNoSender = errors.New("mixservice: stanza has no from")
	// ErrConfig is returned by Deliver when the Config given to New has no
	// Router or an invalid Domain.
	ErrConfig = errors.New("mixservice: invalid configuration (need a valid Domain and a Router)")
)

// Service is a MIX service holding its channels in memory. It is safe for
// concurrent use. Build it with New.
type Service struct {
	domain jid.JID
	router host.Router
	log    *slog.Logger
	limits Limits
	secret []byte
	broken bool // the configuration is unusable: Deliver returns ErrConfig

	mu       sync.Mutex
	closed   bool
	channels map[string]*channel // by name (the channel JID's localpart)
	owned    map[string]int      // channels per owner's bare JID
	out      outbox              // stanzas from the service's own JID
}

// New returns a Service for cfg. It never fails: with an invalid Domain or
// no Router, Deliver returns ErrConfig.
func New(cfg Config) *Service {
	s := &Service{
		router:   cfg.Router,
		log:      cfg.Logger,
		limits:   cfg.Limits.withDefaults(),
		secret:   cfg.Secret,
		channels: make(map[string]*channel),
		owned:    make(map[string]int),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.secret == nil {
		s.secret = make([]byte, 32)
		rand.Read(s.secret)
	}
	domain, err := jid.New("", cfg.Domain, "")
	s.domain = domain
	s.broken = err != nil || cfg.Domain == "" || cfg.Router == nil
	return s
}

// Close stops the service: Deliver returns ErrClosed from then on. Stanzas
// that Deliver calls in progress have accepted are still routed by them.
// Close must not be called from inside the Router.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

// Deliver hands the service one stanza addressed to its domain or to a JID
// in it, serialised as for host.RawRouter.RouteRaw (no xmlns on the
// top-level element; children declare theirs). Answers and everything the
// stanza causes go out through the Router before Deliver returns, unless
// another Deliver call is already routing the same channel's stanzas, which
// then routes them too (see the package documentation).
//
// Deliver returns nil when it has handled the stanza, answers included. It
// returns an error, and has sent nothing, when it did not take the stanza:
// ErrNotStanza, ErrNoSender, ErrClosed or ErrConfig. A host may then bounce
// the stanza as for an unreachable entity. Routing errors are logged, not
// returned: they concern the answers, not the stanza.
func (s *Service) Deliver(ctx context.Context, raw []byte) error {
	if s.broken {
		return ErrConfig
	}
	in, err := readHeader(raw)
	if err != nil {
		return err
	}
	if in.from.Domainpart() == s.domain.Domainpart() {
		// Only the service speaks for its domain, and answering could
		// loop.
		s.log.DebugContext(ctx, "mixservice: dropped stanza from the service's own domain", "from", in.from)
		return nil
	}
	if in.toErr != nil || in.to.Equal(jid.JID{}) {
		in.to = s.domain // the service answers what it cannot read
	}
	name, handle := s.prepare(in)

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	c := s.channels[name]
	box := &s.out
	if c != nil {
		box = &c.out
	}
	if box.len() >= s.limits.Pending {
		s.mu.Unlock()
		s.log.DebugContext(ctx, "mixservice: too many stanzas waiting", "to", in.to)
		if in.answerable() {
			refusal := in.errorReply(stanzaError(stanza.ResourceConstraint, "too many stanzas waiting for this channel; try again later"))
			s.route(detach(ctx), refusal, nil)
		}
		return nil
	}
	// Queued with the lock held: the channel's stanzas leave in the order
	// its state changed.
	box.put(handle(c)...)
	s.mu.Unlock()

	box.flush(detach(ctx), s.route)
	return nil
}

// handler changes the service's state for one stanza and returns what it
// sends. It runs with Service.mu held; c is the channel the stanza is
// addressed to, nil when it is not addressed to an existing channel.
type handler func(c *channel) []outgoing

// prepare reads in's payload, without holding the lock, and returns the
// name of the channel in is addressed to ("" when it is addressed to no
// channel) and what to do with it.
func (s *Service) prepare(in *inbound) (string, handler) {
	if in.isResponse() {
		return "", nothing
	}
	if in.toErr != nil {
		return "", in.refuse(stanzaError(stanza.JIDMalformed, "the to address is not a valid JID"))
	}
	name, dest := s.destination(in.to)
	switch in.kind {
	case kindIQ:
		return name, s.prepareIQ(in, dest)
	case kindMessage:
		return name, s.prepareMessage(in, dest)
	default:
		return name, s.preparePresence(in, dest)
	}
}

// nothing is the handler of stanzas that need no answer.
func nothing(*channel) []outgoing { return nil }

// dest is what a stanza's to names in the service's domain.
type dest int

const (
	destService dest = iota // the service's bare domain
	destChannel             // a channel's bare JID (which may not exist)
	destOther               // anything else: full JIDs, encoded participant JIDs, other domains
)

// destination classifies to, and returns the channel name when it is a
// channel's bare JID.
func (s *Service) destination(to jid.JID) (string, dest) {
	switch {
	case to.Domainpart() != s.domain.Domainpart() || to.Resourcepart() != "":
		return "", destOther
	case to.Localpart() == "":
		return "", destService
	case strings.ContainsRune(to.Localpart(), '#'):
		return "", destOther // an encoded participant JID: no channel name has '#'

	}
	return to.Localpart(), destChannel
}

// detach returns a context for routing what a Deliver call accepted: it
// outlives the caller's context, so that a caller going away does not lose
// what others should get, and routing stays bounded by routeTimeout per
// stanza (see outbox.flush).
func detach(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }
