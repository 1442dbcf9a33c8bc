package roster

import (
	"context"
	"encoding/xml"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/ns"
	"github.com/mixpam/mixpam/internal/xmlenc"
)

// Handle returns an option that registers h on a mellium mux.ServeMux for
// the roster gets and sets of one session, whose full JID is session. It
// stamps every request with from=session (a client cannot speak for another
// session) and writes the answer into the session's own stream, as mellium
// expects of an IQ handler; pushes still go through h's Router, which must
// therefore queue rather than write into a session synchronously. ctx bounds
// the work of every request handled (typically the session's context).
//
// The handler returns an error, which ends mellium's session, only when the
// request could not be read or the answer could not be written.
func Handle(ctx context.Context, h *Handler, session jid.JID) mux.Option {
	hf := mux.IQHandlerFunc(func(iq stanza.IQ, t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		iq.From = session
		payload := xmlstream.MultiReader(xmlstream.Token(*start), t)
		return h.serve(ctx, iq, payload, func(_ context.Context, _ jid.JID, raw []byte) error {
			_, err := xmlstream.Copy(t, xmlenc.EncoderTokens(raw))
			return err
		})
	})
	name := xml.Name{Space: ns.Roster, Local: "query"}
	return func(m *mux.ServeMux) {
		mux.IQ(stanza.GetIQ, name, hf)(m)
		mux.IQ(stanza.SetIQ, name, hf)(m)
	}
}
