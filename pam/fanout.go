package pam

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/splice"
	"github.com/mixpam/mixpam/ns"
	"github.com/mixpam/mixpam/rawxml"
	"github.com/mixpam/mixpam/roster"
)

// ArchiveAppender adds a record to a user's archive; archive.Store
// satisfies it.
type ArchiveAppender interface {
	// Append adds rec to owner's archive, idempotently on rec.ID. It must not
	// keep rec.Stanza after it returns.
	Append(ctx context.Context, owner jid.JID, rec archive.Record) error
}

// BlockFilter decides whether traffic from a peer is blocked for a user
// (XEP-0191, with XEP-0405 §2.12's encoded channel JIDs). *blocking.Filter
// implements it. The fan-out passes the sender's full JID with Groupchat
// set, and fills RealJID from the message's <mix><jid/> only when the filter
// also has a NeedsRealJID method that reports true.
type BlockFilter interface {
	Blocked(ctx context.Context, user jid.JID, peer blocking.Peer) (bool, error)
}

// realJIDFilter is a BlockFilter that may want the participant's real JID.
type realJIDFilter interface {
	NeedsRealJID() bool
}

// FanOutConfig configures a FanOut. Sessions, Router, Roster and Archive are
// required.
type FanOutConfig struct {
	// Sessions lists the user's online resources; only those with
	// MIXCapable set receive channel traffic (XEP-0405 §2.1).
	Sessions host.Sessions
	// Router delivers the copies, through its RouteRaw fast path when it is
	// a host.RawRouter.
	Router host.Router
	// Roster tells whether the sender is a channel the user has joined: an
	// item for the sender's bare JID with Channel set.
	Roster roster.ItemLookup
	// Archive is the user's message archive (XEP-0405 §1, §2.11). It must
	// not keep a record's Stanza after Append returns.
	Archive ArchiveAppender
	// Block, when not nil, is consulted before anything else; blocked
	// traffic is dropped.
	Block BlockFilter
	// IDs makes the archive and stanza ids; nil means a new
	// archive.IDGenerator reading time.Now.
	IDs *archive.IDGenerator
	// Logger receives dropped messages at debug level and failures at
	// warning level. Nil discards them.
	Logger *slog.Logger
}

// FanOut archives and delivers the groupchat messages that MIX channels send
// to a user's bare JID (XEP-0405 §2.2, §2.11). For each message it
//
//  1. asks the BlockFilter, if any, and drops blocked traffic;
//  2. checks that the sender's bare JID is a channel in the user's roster,
//     and drops anything else (another channel, another service, the same
//     localpart elsewhere, an ordinary contact);
//  3. removes any <stanza-id xmlns='urn:xmpp:sid:0'/> child whose by is the
//     user's bare JID (a forgery: XEP-0359 §5 rule 2) and adds its own, with
//     a new archive id, as the last child;
//  4. archives the message — as received, addressed to the bare JID, with
//     that stanza-id — whether or not a client is online;
//  5. routes a copy to every online MIX-capable resource of the user,
//     whatever its presence show and priority, identical to the archived one
//     but for to, which is the resource's full JID. Resources that are not
//     MIX-capable get nothing.
//
// A failed archive write does not stop delivery: the clients online still
// get the message, and ServeMessage returns an *ArchiveError holding the
// record, which the host can append again later (Append is idempotent on the
// id, and the live copies already carry that id). Retrying inside
// ServeMessage would hold up every client of the user for a store that is
// failing anyway.
//
// The stanza is serialised once (design §4); each copy then writes only the
// element name and the resource's full JID in front of the rest, which is
// written once, and goes to the Router's RouteRaw fast path when it has one.
// Parsed JIDs and escaped resourceparts are cached and buffers pooled, so
// the allocations per message do not depend on the number of resources
// (docs/performance.md has the figures).
//
// A FanOut is safe for concurrent use. Create it with NewFanOut.
type FanOut struct {
	sessions host.Sessions
	router   host.Router
	roster   roster.ItemLookup
	archive  ArchiveAppender
	block    BlockFilter
	realJID  bool // block wants the participant's real JID
	ids      *archive.IDGenerator
	log      *slog.Logger

	scratch sync.Pool // *fanOutScratch
	cache   fanOutCache
	stats   fanOutCounters
}

// NewFanOut returns a FanOut for c.
func NewFanOut(c FanOutConfig) (*FanOut, error) {
	switch {
	case c.Sessions == nil:
		return nil, errors.New("pam: FanOutConfig.Sessions is required")
	case c.Router == nil:
		return nil, errors.New("pam: FanOutConfig.Router is required")
	case c.Roster == nil:
		return nil, errors.New("pam: FanOutConfig.Roster is required")
	case c.Archive == nil:
		return nil, errors.New("pam: FanOutConfig.Archive is required")
	}
	f := &FanOut{
		sessions: c.Sessions,
		router:   c.Router,
		roster:   c.Roster,
		archive:  c.Archive,
		block:    c.Block,
		realJID:  needsRealJID(c.Block),
		ids:      c.IDs,
		log:      c.Logger,
	}
	if f.ids == nil {
		f.ids = new(archive.IDGenerator)
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	return f, nil
}

// FanOutAction is what ServeMessage did with a message.
type FanOutAction uint8

// The actions of ServeMessage.
const (
	// FanOutPassed: not a groupchat message stanza (in a stanza namespace)
	// to a bare JID, so not the fan-out's to handle. ServeMessage returns
	// it with host.ErrNotHandled: nothing was read from the stanza; the
	// host processes it as usual.
	FanOutPassed FanOutAction = iota
	// FanOutNotJoined: the sender is not a channel in the user's roster
	// (or the message has no valid from). Dropped: neither archived nor
	// delivered.
	FanOutNotJoined
	// FanOutBlocked: the BlockFilter blocked the sender. Dropped.
	FanOutBlocked
	// FanOutFailed: a check could not be made (the BlockFilter or the
	// roster failed) or the stanza could not be read. Dropped; the error
	// says why.
	FanOutFailed
	// FanOutAccepted: the message passed the checks, was archived and was
	// routed to every MIX-capable resource online. An *ArchiveError means it
	// was delivered but not archived.
	FanOutAccepted
)

var fanOutActionNames = [...]string{
	FanOutPassed:    "passed",
	FanOutNotJoined: "not-joined",
	FanOutBlocked:   "blocked",
	FanOutFailed:    "failed",
	FanOutAccepted:  "accepted",
}

// String returns a short lower-case name of a.
func (a FanOutAction) String() string {
	if int(a) < len(fanOutActionNames) {
		return fanOutActionNames[a]
	}
	return fmt.Sprintf("FanOutAction(%d)", uint8(a))
}

// FanOutResult reports what ServeMessage did with one message.
type FanOutResult struct {
	// Action is what happened to the message.
	Action FanOutAction
	// ID is the archive id and XEP-0359 stanza id the message got; empty
	// unless Action is FanOutAccepted.
	ID string
	// Delivered is the number of resources the message was routed to.
	Delivered int
}

// ArchiveError reports a message that was delivered but could not be
// archived. Record is the record that failed, with its own copy of the
// stanza: appending it again to Owner's archive completes the job.
type ArchiveError struct {
	// Owner is the user whose archive refused the record.
	Owner jid.JID
	// Record is the record that was not archived; its Stanza is its own.
	Record archive.Record
	// Err is the archive's error.
	Err error
}

// Error implements error.
func (e *ArchiveError) Error() string {
	return fmt.Sprintf("pam: archiving message %s for %s: %v", e.Record.ID, e.Owner, e.Err)
}

// Unwrap returns the store's error.
func (e *ArchiveError) Unwrap() error { return e.Err }

// ServeMessage archives and delivers one message stanza (see FanOut). It is
// the entry point for any host: call it for every <message/> addressed to a
// local user's bare JID, before the usual RFC 6121 §8.5.2 processing, and
// process the message as usual when ServeMessage returns host.ErrNotHandled
// (the action is then FanOutPassed).
//
// start is the stanza's start element and r yields what follows it as an
// xml.Decoder yields it: the children, then optionally the end element (as
// mellium's xmlstream.Inner or InnerElement give it). ServeMessage stops
// reading at the stanza's end element, so r may also be the stream's decoder
// itself. It reads r only for messages it accepts.
//
// The error reports a failed check, an unreadable stanza, a failed archive
// write (*ArchiveError) or failed deliveries; several are joined. Dropped
// messages are not errors: the action says why they were dropped. A message
// that is not the fan-out's gets host.ErrNotHandled, as everything a host
// hands a stanza to says "not mine" (see package host).
func (f *FanOut) ServeMessage(ctx context.Context, start xml.StartElement, r xml.TokenReader) (FanOutResult, error) {
	to, from, typ := fanOutAddressing(start)
	if !isFanOutMessage(start.Name) || typ != string(stanza.GroupChatMessage) || to == "" {
		return FanOutResult{}, host.ErrNotHandled
	}
	user, bare, err := f.cache.parse(to)
	if err != nil || user.Resourcepart() != "" {
		// A full JID is a single session's business, not the fan-out's; an
		// invalid one is the host's router's to refuse.
		return FanOutResult{}, host.ErrNotHandled
	}
	sender, err := f.cache.parseJID(from)
	if res, done, err := f.check(ctx, user, sender, err, from); done {
		return res, err
	}
	return f.accept(ctx, start, r, user, bare, sender)
}

// check applies the checks that come before reading the message: the
// sender (parsed with parseErr), the blocklist unless it needs the real JID,
// and the roster. done reports that the message was dropped or a check
// failed, with the result to return.
func (f *FanOut) check(ctx context.Context, user, sender jid.JID, parseErr error, from string) (res FanOutResult, done bool, err error) {
	if parseErr != nil {
		res, err = f.drop(ctx, FanOutNotJoined, user, from, "no valid from")
		return res, true, err
	}
	if f.block != nil && !f.realJID {
		if res, done, err := f.checkBlock(ctx, user, blocking.Peer{JID: sender, Groupchat: true}); done {
			return res, true, err
		}
	}
	item, err := f.roster.Item(ctx, user, sender.Bare())
	switch {
	case errors.Is(err, roster.ErrNotFound) || err == nil && !item.Channel:
		res, err = f.drop(ctx, FanOutNotJoined, user, from, "sender is not a joined channel")
		return res, true, err
	case err != nil:
		res, err = f.fail(ctx, &f.stats.checkFailures, user, from, fmt.Errorf("pam: roster lookup: %w", err))
		return res, true, err
	}
	return FanOutResult{}, false, nil
}

// checkBlock consults the block filter; done reports that the message was
// dropped or the check failed, with the result to return.
func (f *FanOut) checkBlock(ctx context.Context, user jid.JID, peer blocking.Peer) (res FanOutResult, done bool, err error) {
	blocked, err := f.block.Blocked(ctx, user, peer)
	switch {
	case err != nil:
		res, err = f.fail(ctx, &f.stats.checkFailures, user, peer.JID.String(), fmt.Errorf("pam: block filter: %w", err))
		return res, true, err
	case blocked:
		res, err = f.drop(ctx, FanOutBlocked, user, peer.JID.String(), "sender blocked")
		return res, true, err
	}
	return FanOutResult{}, false, nil
}

// accept archives and delivers a message that passed the checks; bare is
// user's string form.
func (f *FanOut) accept(ctx context.Context, start xml.StartElement, r xml.TokenReader, user jid.JID, bare string, sender jid.JID) (FanOutResult, error) {
	id, stamp := f.ids.Next()
	sc := f.getScratch()
	defer f.putScratch(sc)

	st, err := splice.Capture(sc.capture, newFanOutStanza(start, r, user, bare, id))
	if err != nil {
		return f.fail(ctx, &f.stats.malformed, user, sender.Bare().String(), fmt.Errorf("pam: reading groupchat message: %w", err))
	}
	sc.capture = st.Bytes()
	return f.archiveAndDeliver(ctx, sc, st, user, bare, sender, id, stamp)
}

// archiveAndDeliver archives st, the message as captured with the user's
// stanza-id id, and delivers it: the part of accept after the message was
// read. With a BlockFilter that wants the real JID, the block check comes
// first, now that <mix><jid/> is at hand.
func (f *FanOut) archiveAndDeliver(ctx context.Context, sc *fanOutScratch, st splice.Stanza, user jid.JID, bare string, sender jid.JID, id string, stamp time.Time) (FanOutResult, error) {
	channel := sender.Bare()
	if f.realJID {
		// Nothing has been stored yet.
		peer := blocking.Peer{JID: sender, Groupchat: true, RealJID: mixRealJID(st.Bytes())}
		if res, done, err := f.checkBlock(ctx, user, peer); done {
			return res, err
		}
	}

	var errs []error
	sc.out = st.AppendTo(sc.out[:0], bare)
	rec := archive.Record{ID: id, With: channel, Time: stamp, Stanza: sc.out}
	if err := f.archive.Append(ctx, user, rec); err != nil {
		f.stats.archiveFailures.Add(1)
		rec.Stanza = append([]byte(nil), rec.Stanza...)
		f.log.WarnContext(ctx, "mixpam: groupchat message delivered but not archived",
			"user", bare, "channel", channel.String(), "id", id, "err", err)
		errs = append(errs, &ArchiveError{Owner: user, Record: rec, Err: err})
	}

	res := FanOutResult{Action: FanOutAccepted, ID: id}
	res.Delivered, errs = f.deliver(ctx, sc, st, user, bare, id, errs)
	f.stats.accepted.Add(1)
	f.stats.delivered.Add(uint64(res.Delivered))
	return res, errors.Join(errs...)
}

// deliver routes a copy of st to every MIX-capable resource of user online
// and returns how many were routed, adding failures to errs.
func (f *FanOut) deliver(ctx context.Context, sc *fanOutScratch, st splice.Stanza, user jid.JID, bare, id string, errs []error) (int, []error) {
	resources, err := f.listResources(ctx, sc, user)
	if err != nil {
		f.stats.deliveryFailures.Add(1)
		return 0, append(errs, fmt.Errorf("pam: listing sessions of %s: %w", bare, err))
	}
	sc.names = f.cache.resources(sc.names[:0], resources)
	copies := st.Copies(sc.out, splice.Escape(bare))
	delivered, i := 0, 0
	for j := range resources {
		rsc := &resources[j]
		if !rsc.MIXCapable {
			continue
		}
		raw := copies.To(sc.names[i])
		i++
		if err := host.RouteBytes(ctx, f.router, rsc.JID, raw); err != nil {
			f.stats.deliveryFailures.Add(1)
			f.log.WarnContext(ctx, "mixpam: delivering groupchat message failed",
				"to", rsc.JID.String(), "id", id, "err", err)
			errs = append(errs, fmt.Errorf("pam: delivering to %s: %w", rsc.JID, err))
			continue
		}
		delivered++
	}
	sc.out = copies.Buffer()
	return delivered, errs
}

// drop counts and logs a message dropped by a check.
func (f *FanOut) drop(ctx context.Context, action FanOutAction, user jid.JID, from, why string) (FanOutResult, error) {
	switch action {
	case FanOutBlocked:
		f.stats.droppedBlocked.Add(1)
	default:
		f.stats.droppedNotJoined.Add(1)
	}
	if f.log.Enabled(ctx, slog.LevelDebug) {
		f.log.DebugContext(ctx, "mixpam: groupchat message dropped",
			"user", user.String(), "from", from, "reason", why)
	}
	return FanOutResult{Action: action}, nil
}

// fail counts (in counter) and logs a message dropped because it could not
// be checked or read.
func (f *FanOut) fail(ctx context.Context, counter *atomic.Uint64, user jid.JID, from string, err error) (FanOutResult, error) {
	counter.Add(1)
	f.log.WarnContext(ctx, "mixpam: groupchat message dropped", "user", user.String(), "from", from, "err", err)
	return FanOutResult{Action: FanOutFailed}, err
}

// fanOutAddressing returns the first to, from and type attributes of a
// stanza's start element; the first is also the one splice.Capture keeps.
func fanOutAddressing(start xml.StartElement) (to, from, typ string) {
	var seen [3]bool
	for _, a := range start.Attr {
		if a.Name.Space != "" {
			continue
		}
		switch a.Name.Local {
		case "to":
			if !seen[0] {
				to, seen[0] = a.Value, true
			}
		case "from":
			if !seen[1] {
				from, seen[1] = a.Value, true
			}
		case "type":
			if !seen[2] {
				typ, seen[2] = a.Value, true
			}
		}
	}
	return to, from, typ
}

// listResources lists user's resources: into the scratch's buffer when the
// Sessions is a host.ResourceAppender, which costs no allocation, or with
// Resources, which copies.
func (f *FanOut) listResources(ctx context.Context, sc *fanOutScratch, user jid.JID) ([]host.Resource, error) {
	a, ok := f.sessions.(host.ResourceAppender)
	if !ok {
		return f.sessions.Resources(ctx, user)
	}
	rs, err := a.AppendResources(ctx, sc.resources[:0], user)
	sc.resources = rs
	return rs, err
}

// fanOutScratch is the working memory of one message, pooled so that a
// message costs no allocation for it.
type fanOutScratch struct {
	scan      rawxml.Scanner   // ServeRaw's check of the bytes
	cuts      []int            // ServeRaw: the ranges of forged stanza-ids, start and end
	capture   []byte           // the stanza without to
	out       []byte           // one copy with to
	names     []splice.Escaped // the escaped resourceparts of the MIX-capable resources
	resources []host.Resource  // the user's resources, from a host.ResourceAppender
}

// maxPooledBuf is the largest buffer returned to the pool: one huge stanza
// must not pin its memory for ever.
const maxPooledBuf = 64 << 10

func (f *FanOut) getScratch() *fanOutScratch {
	if sc, ok := f.scratch.Get().(*fanOutScratch); ok {
		return sc
	}
	return &fanOutScratch{capture: make([]byte, 0, 1024), out: make([]byte, 0, 1024)}
}

func (f *FanOut) putScratch(sc *fanOutScratch) {
	if cap(sc.capture) > maxPooledBuf || cap(sc.out) > maxPooledBuf || cap(sc.names) > maxFanOutCached || cap(sc.resources) > maxFanOutCached ||
		cap(sc.cuts) > maxFanOutCached || cap(sc.scan.Top.Attrs) > maxFanOutCached {
		return
	}
	clear(sc.names) // drop the references to cached strings
	sc.scan.Reset() // and to the last stanza
	clear(sc.resources[:cap(sc.resources)])
	f.scratch.Put(sc)
}

// ForFeatures implements mellium's info.FeatureIter with the features the
// fan-out gives the user's bare JID: urn:xmpp:mix:pam:2#archive (XEP-0405
// §2.4, §2.11) and urn:xmpp:sid:0 (XEP-0359 §7: the stanza-id rules are
// enforced). The node is ignored.
func (f *FanOut) ForFeatures(_ string, fn func(info.Feature) error) error {
	for _, v := range [...]string{ns.PAMArchive, ns.StanzaID} {
		if err := fn(info.Feature{Var: v}); err != nil {
			return err
		}
	}
	return nil
}
