package disco

import (
	"context"
	"encoding/xml"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/rawstanza"
)

// Handle returns an option that makes a mellium mux.ServeMux answer
// disco#info requests (types get and set) with a, for hosts built on
// mellium's mux. The answers are written into the stream the mux serves, as
// mellium expects of an IQ handler, rather than routed through a's Router.
//
// For the mux of a client session, session is the session's full JID, which
// Handle stamps as the from of every request (clients usually leave it out,
// and a from the client wrote is not to be trusted; RFC 6120 §8.1.2.1). For
// the mux of a server-to-server stream, session is the zero JID and each
// request keeps the from that the host verified (RFC 6120 §8.1.2.2); a
// request without from then ends the stream, as RFC 6120 §4.9.3.14
// (improper-addressing) has it.
//
// mellium's own disco.Handle answers every disco#info request alike, since it
// never looks at the IQ's to: it cannot answer for an account's bare JID.
// Handle reads iq.To itself: requests for an account's bare JID, or without
// to, get a's answer; all others — to the server's domain, to a full JID —
// go to next, which might answer for the server or route the request on.
// With a nil next they get service-unavailable. The two cannot be registered
// on one mux, so a host that also wants mellium's disco.Handle for its domain
// passes it in next (see the example).
//
// The account's requests go through the generic adapter host.Mux.
// mellium's mux gives handlers no context: every request handled through this
// option runs under ctx (typically the session's).
func Handle(ctx context.Context, a *Account, session jid.JID, next mux.IQHandler) mux.Option {
	account := host.MuxHandler(ctx, a, session)
	h := mux.IQHandlerFunc(func(iq stanza.IQ, t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		stamped := iq
		if !session.Equal(jid.JID{}) {
			stamped.From = session
		}
		if _, ok := target(stamped); ok {
			return account.HandleIQ(iq, t, start)
		}
		if next != nil {
			return next.HandleIQ(stamped, t, start)
		}
		req := stanza.IQ{ID: iq.ID, From: stamped.From, To: iq.To}
		_, err := xmlstream.Copy(t, req.Error(rawstanza.Error(stanza.Cancel, stanza.ServiceUnavailable,
			"no service discovery for this address here")))
		return err
	})
	return func(m *mux.ServeMux) {
		for _, r := range IQRoutes() {
			mux.IQ(r.Type, r.Name, h)(m)
		}
	}
}

// IQRoutes are the IQs an Account serves: disco#info requests (type get,
// and set to refuse them).
func IQRoutes() []host.IQRoute {
	name := xml.Name{Space: nsInfo, Local: "query"}
	return []host.IQRoute{{Type: stanza.GetIQ, Name: name}, {Type: stanza.SetIQ, Name: name}}
}
