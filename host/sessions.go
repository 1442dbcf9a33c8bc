package host

import (
	"context"

	"mellium.im/xmpp/jid"
)

// Resource is one online session (bound resource) of a user.
type Resource struct {
	// JID is the session's full JID.
	JID jid.JID
	// MIXCapable reports that the client advertises urn:xmpp:mix:core:1
	// (XEP-0405 §2.1). Only MIX-capable resources receive channel traffic.
	MIXCapable bool
	// Annotate reports that the session's last roster get carried
	// <annotate xmlns='urn:xmpp:mix:roster:0'/> (XEP-0405 §2.10).
	Annotate bool
	// Interested reports that the session has requested the roster since
	// it bound: it is an interested resource (RFC 6121 §2.1.6), the only
	// kind that receives roster pushes. FlagSetter.SetAnnotate, which
	// mixpam calls for every roster get, sets it.
	Interested bool
	// BlocklistRequested reports that the session has requested the
	// blocklist since it bound (XEP-0191 §3.2): the only kind that
	// receives blocklist pushes (§3.3–3.5).
	// FlagSetter.SetBlocklistRequested, which mixpam calls for every
	// blocklist get, sets it.
	BlocklistRequested bool
	// Available reports that the session has sent initial available presence
	// (RFC 6121 §4.2) and not unavailable presence since.
	Available bool
	// Priority is the priority of the session's last available presence.
	Priority int8
}

// Sessions reports a user's online resources. Implementations must be safe
// for concurrent use.
type Sessions interface {
	// Resources returns the online resources of user (a bare JID), in a
	// stable order. A user with none gets an empty slice and a nil error.
	//
	// The returned slice belongs to the caller, who may keep it, filter it
	// in place or change its elements: an implementation returns a slice
	// that it shares with nobody (a fresh copy per call, as MemSessions
	// does) and never touches again. hosttest.RunSessions checks both
	// directions.
	Resources(ctx context.Context, user jid.JID) ([]Resource, error)
}

// ResourceAppender is what a Sessions may implement as well, for callers
// that list resources for every message (the groupchat fan-out,
// pam.FanOut): AppendResources appends user's online resources, in the
// order Resources gives, to dst and returns the extended slice. The caller
// owns dst and the result, as with Resources; a dst with room enough makes
// the listing free of allocation, where Resources allocates a copy per
// call (docs/performance.md measures both). It must neither change dst's
// elements before len(dst) nor keep dst.
type ResourceAppender interface {
	AppendResources(ctx context.Context, dst []Resource, user jid.JID) ([]Resource, error)
}

// FlagSetter records the per-session facts that mixpam's handlers learn: MIX
// capability (from disco or caps), the roster request and the blocklist
// request. SetAnnotate is called for every roster get the session makes: it
// records whether the get asked for annotations, and sets Interested.
// SetBlocklistRequested is called for every blocklist get: it sets
// BlocklistRequested. Setting a flag for a session that is not online
// returns ErrNoSession.
type FlagSetter interface {
	SetMIXCapable(ctx context.Context, session jid.JID, capable bool) error
	SetAnnotate(ctx context.Context, session jid.JID, annotate bool) error
	SetBlocklistRequested(ctx context.Context, session jid.JID) error
}

// ErrNoSession is returned for a full JID that has no online session.
var ErrNoSession = constError("host: no such session")

type constError string

func (e constError) Error() string { return string(e) }

// ErrNoSender is returned (wrapped) by mixpam's handlers for a request
// whose from the host did not stamp: a host must set the from of every
// stanza a client sends to the session's full JID (RFC 6120 §8.1.2.1) before
// handing it over. Test for it with errors.Is.
var ErrNoSender = constError("host: stanza without the sender's JID: the host must stamp from")
