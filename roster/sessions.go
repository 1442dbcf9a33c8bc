package roster

import (
	"context"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
)

// Sessions is what the roster needs of the host's session registry: each
// online resource with its Annotate flag, and a way to set that flag when a
// roster get arrives (XEP-0405 §2.10). host.MemSessions implements it.
type Sessions interface {
	host.Sessions
	// SetAnnotate records whether the session's last roster get asked for
	// annotations. It returns host.ErrNoSession for a session that is not
	// online.
	SetAnnotate(ctx context.Context, session jid.JID, annotate bool) error
}

// ItemLookup finds one item of a user's roster. Store implements it. It is
// the one roster-reader interface of mixpam: the fan-out, the blocking
// filter's known-contact rule and the Annotator take it.
type ItemLookup interface {
	// Item returns user's item for the bare JID contact, or an error
	// matching ErrNotFound when there is none.
	Item(ctx context.Context, user, contact jid.JID) (Item, error)
}

// Reader reads a user's roster: the part of Store the presence handler
// needs.
type Reader interface {
	ItemLookup
	// Items returns user's roster and its version, as Store.Items does.
	Items(ctx context.Context, user jid.JID) ([]Item, uint64, error)
}

// annotates reports whether session's Annotate flag is set. A session that
// is not online is not annotated.
func annotates(ctx context.Context, s host.Sessions, session jid.JID) (bool, error) {
	resources, err := s.Resources(ctx, session.Bare())
	if err != nil {
		return false, err
	}
	for _, r := range resources {
		if r.JID.Equal(session) {
			return r.Annotate, nil
		}
	}
	return false, nil
}
