package archive

import (
	"context"
	"encoding/xml"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
)

// Handle returns an option that registers h on a mellium mux.ServeMux for
// the MAM queries (type set), form requests and archive metadata requests
// (type get) of one client session, whose full JID is session, through the
// generic adapter host.Mux (its doc gives the policy for from and the
// context), and advertises the features of MAMFeatures through the mux's
// features. The result messages and the answer are written into the
// session's own stream.
func Handle(ctx context.Context, h *MAMHandler, session jid.JID) mux.Option {
	return host.Mux(ctx, h, session, IQRoutes()...)
}

// IQRoutes are the IQs a MAMHandler serves.
func IQRoutes() []host.IQRoute {
	query := xml.Name{Space: NSMAM, Local: "query"}
	return []host.IQRoute{
		{Type: stanza.GetIQ, Name: query},
		{Type: stanza.SetIQ, Name: query},
		{Type: stanza.GetIQ, Name: xml.Name{Space: NSMAM, Local: mamMetadata}},
	}
}
