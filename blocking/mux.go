package blocking

import (
	"context"
	"encoding/xml"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
)

// Handle returns an option that registers h on a mellium mux.ServeMux for
// the three blocking commands, the way mellium's own blocklist.Handle does,
// through the generic adapter host.Mux (its doc gives the policy for from
// and the context), and advertises urn:xmpp:blocking through the mux's
// features.
//
// mellium runs mux handlers while holding the session's output, so the
// Router of the HandlerConfig, which still delivers the pushes, must not
// write to this session synchronously: route pushes through a send queue.
// The answer, written directly, may then overtake the pushes queued before
// it for this session; ServeIQ with a reply through the same queue
// (host.RouteReplies of that Router) keeps them in order.
func Handle(ctx context.Context, h *Handler, session jid.JID) mux.Option {
	return host.Mux(ctx, h, session, IQRoutes()...)
}

// IQRoutes are the IQs a Handler serves: the blocklist get and the block
// and unblock sets (XEP-0191).
func IQRoutes() []host.IQRoute {
	return []host.IQRoute{
		{Type: stanza.GetIQ, Name: xml.Name{Space: NS, Local: "blocklist"}},
		{Type: stanza.SetIQ, Name: xml.Name{Space: NS, Local: "block"}},
		{Type: stanza.SetIQ, Name: xml.Name{Space: NS, Local: "unblock"}},
	}
}
