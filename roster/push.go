package roster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/rawstanza"
)

// Pusher sends roster pushes (RFC 6121 §2.1.6) to the interested resources
// of a user: the online sessions that have requested the roster
// (host.Resource.Interested). Channel items are annotated (XEP-0405 §2.10) exactly for the
// sessions whose Annotate flag is set; other sessions get plain items.
type Pusher struct {
	// Sessions lists the user's online resources.
	Sessions host.Sessions
	// Router delivers the pushes; a host.RawRouter is used as such.
	Router host.Router
}

// Push sends one push of it, at roster version ver, to every interested
// resource of user. To push a removal, set it.Subscription to Remove. It tries every
// resource and returns the errors joined.
//
// Annotated sessions see the version with a suffix ("17+mix" for 17), so
// that a client's cached version only matches when the cache was made in the
// annotation state the client asks for (see the package documentation).
func (p Pusher) Push(ctx context.Context, user jid.JID, it Item, ver uint64) error {
	resources, err := p.Sessions.Resources(ctx, user)
	if err != nil {
		return err
	}
	user = user.Bare()
	var errs []error
	var buf []byte
	for _, r := range resources {
		if !r.Interested {
			continue
		}
		buf = appendPush(buf[:0], user, r.JID, pushID(), it, ver, r.Annotate)
		errs = append(errs, host.RouteBytes(ctx, p.Router, r.JID, buf))
	}
	return errors.Join(errs...)
}

// appendPush renders the roster push IQ (RFC 6121 §2.1.6) from user's bare
// JID to session, with the version as that session sees it.
func appendPush(dst []byte, user, session jid.JID, id string, it Item, ver uint64, annotate bool) []byte {
	dst = rawstanza.AppendIQStart(dst, stanza.SetIQ, id, user, session)
	dst = append(dst, '>')
	dst = appendQueryStart(dst, ver, annotate)
	dst = AppendItem(dst, it, annotate)
	return appendQueryEnd(dst)
}

// pushID returns a random IQ id for a push.
func pushID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	return "push-" + hex.EncodeToString(b[:])
}
