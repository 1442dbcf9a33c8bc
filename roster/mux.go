package roster

import (
	"context"
	"encoding/xml"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/ns"
)

// Handle returns an option that registers h on a mellium mux.ServeMux for
// the roster gets and sets of one session, whose full JID is session,
// through the generic adapter host.Mux (its doc gives the policy for from
// and the context). Pushes still go through h's Router, which must
// therefore queue rather than write into a session synchronously.
func Handle(ctx context.Context, h *Handler, session jid.JID) mux.Option {
	return host.Mux(ctx, h, session, IQRoutes()...)
}

// IQRoutes are the IQs a Handler serves: roster gets and sets.
func IQRoutes() []host.IQRoute {
	name := xml.Name{Space: ns.Roster, Local: "query"}
	return []host.IQRoute{{Type: stanza.GetIQ, Name: name}, {Type: stanza.SetIQ, Name: name}}
}
