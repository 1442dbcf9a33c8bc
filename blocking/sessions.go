package blocking

import (
	"context"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
)

// Sessions is what the blocking handler needs of the host's session
// registry: each online resource with its BlocklistRequested flag, to push
// changes only to the resources that requested the blocklist (XEP-0191
// §3.3–3.5), and a way to set that flag when a blocklist get arrives
// (§3.2). host.MemSessions implements it.
type Sessions interface {
	host.Sessions
	// SetBlocklistRequested records that the session requested the
	// blocklist. It returns host.ErrNoSession for a session that is not
	// online.
	SetBlocklistRequested(ctx context.Context, session jid.JID) error
}
