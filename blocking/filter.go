package blocking

import (
	"context"
	"errors"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/internal/mixjid"
)

// Checker is a blocklist check with the XEP-0191 §6 "JID Matching" rules:
// Blocks reports whether the blocklist of user (a bare JID) holds an item
// that matches peer (peer's full JID, its bare JID, domain/resource, or its
// domain). It knows nothing of MIX. A host that already has such a check
// wraps it with NewFilter, which makes it MIX-aware (decorator); a host that
// keeps its blocklists in a Store uses StoreChecker. Implementations must be
// safe for concurrent use.
type Checker interface {
	Blocks(ctx context.Context, user, peer jid.JID) (bool, error)
}

// CheckerFunc adapts a function to the Checker interface.
type CheckerFunc func(ctx context.Context, user, peer jid.JID) (bool, error)

// Blocks implements Checker by calling f.
func (f CheckerFunc) Blocks(ctx context.Context, user, peer jid.JID) (bool, error) {
	return f(ctx, user, peer)
}

// Peer describes the other party of a stanza for the blocking decision.
type Peer struct {
	// JID is the other party: the from of an incoming stanza, the to of an
	// outgoing one.
	JID jid.JID
	// Groupchat reports a message of type groupchat. A groupchat message
	// from channel@service/pid was sent by the participant pid, so blocking
	// pid#channel@service blocks it (XEP-0369 §7.1.6, XEP-0405 §2.12).
	Groupchat bool
	// RealJID is the participant's real JID as the channel reveals it: the
	// <jid/> child of a groupchat message's <mix
	// xmlns='urn:xmpp:mix:core:1'/> element (XEP-0369 §7.1.6). It is
	// consulted only when the filter was built with MatchRealJID, so
	// callers need to extract it only when Filter.NeedsRealJID reports
	// true; the zero JID means unknown.
	RealJID jid.JID
}

// Filter decides whether a stanza is blocked, understanding the encoded JIDs
// of MIX channels (XEP-0405 §2.12). Build it with NewFilter. A Filter is safe
// for concurrent use; a nil *Filter blocks nothing.
//
// A peer is mapped to its channel: pid#channel@service/res and
// channel@service/res both belong to channel@service. The peer is blocked
// when the user's blocklist matches (by the Checker's XEP-0191 rules):
//
//   - the peer itself, so that an exact encoded JID blocks one participant
//     and a full-JID item blocks one resource;
//   - the channel's bare JID, so that blocking a channel blocks all its
//     participants' encoded JIDs (the channel's domain is the peer's domain,
//     so a domain item blocks the whole service);
//   - for groupchat from channel@service/pid, the encoded JID
//     pid#channel@service of the sending participant (skipped when pid is
//     not a valid participant id);
//   - with MatchRealJID, the participant's real JID given in Peer.RealJID.
//
// Blocking a participant or a user's real JID never blocks the whole
// channel: items naming them match only their own traffic. Stanzas between
// the user's own resources are never blocked (XEP-0191 §5 note).
type Filter struct {
	check   Checker
	realJID bool
}

// FilterConfig configures a Filter. Checker is required.
type FilterConfig struct {
	// Checker is the host's own XEP-0191 check, or StoreChecker for a
	// Store. Required.
	Checker Checker
	// MatchRealJID makes the filter also match the participant's real JID
	// (Peer.RealJID) against the blocklist, so that blocking
	// romeo@montague.net also hides Romeo's groupchat messages in every
	// channel whose messages reveal his real JID. It is off by default:
	// XEP-0405 §2.12 asks only that encoded JIDs be recognised; whether
	// blocking a person also silences them in shared channels is local
	// policy, and a real JID is only as trustworthy as the channel that
	// reports it.
	MatchRealJID bool
}

// NewFilter returns a Filter for c. It returns an error, and no Filter, when
// c has no Checker.
func NewFilter(c FilterConfig) (*Filter, error) {
	if c.Checker == nil {
		return nil, errors.New("blocking: FilterConfig.Checker is required")
	}
	return &Filter{check: c.Checker, realJID: c.MatchRealJID}, nil
}

// NeedsRealJID reports whether Blocked consults Peer.RealJID. When false,
// callers need not extract the real JID from the stanza.
func (f *Filter) NeedsRealJID() bool {
	return f != nil && f.realJID
}

// Blocked reports whether stanzas between user (a local account; its bare
// JID is used) and peer are blocked by user's blocklist. On error the result
// is false and the caller decides whether to deliver.
//
// The cost is a handful of Checker calls whatever the blocklist's length (as
// long as the Checker's is constant, as StoreChecker's is): one for each of
// the peer, its channel, the sending participant and the real JID that apply.
func (f *Filter) Blocked(ctx context.Context, user jid.JID, peer Peer) (bool, error) {
	if f == nil || peer.JID.Domainpart() == "" {
		return false, nil
	}
	user = user.Bare()
	if peer.JID.Bare().Equal(user) {
		return false, nil
	}
	if blocked, err := f.check.Blocks(ctx, user, peer.JID); blocked || err != nil {
		return blocked, err
	}
	if _, channel, ok := mixjid.Split(peer.JID); ok {
		if blocked, err := f.check.Blocks(ctx, user, channel); blocked || err != nil {
			return blocked, err
		}
	} else if sender, ok := groupchatSender(peer); ok {
		if blocked, err := f.check.Blocks(ctx, user, sender); blocked || err != nil {
			return blocked, err
		}
	}
	if f.realJID && peer.RealJID.Domainpart() != "" && !peer.RealJID.Bare().Equal(user) {
		return f.check.Blocks(ctx, user, peer.RealJID)
	}
	return false, nil
}

// groupchatSender returns the encoded JID pid#channel@service of the
// participant who sent a groupchat message from channel@service/pid.
func groupchatSender(peer Peer) (jid.JID, bool) {
	if !peer.Groupchat || peer.JID.Localpart() == "" || peer.JID.Resourcepart() == "" {
		return jid.JID{}, false
	}
	sender, err := mixjid.Encode(peer.JID.Resourcepart(), peer.JID.Bare())
	return sender, err == nil
}
