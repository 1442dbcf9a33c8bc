package blocking

import (
	"context"
	"encoding/xml"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"
)

// Handle returns an option that registers h on a mellium mux.ServeMux for
// the three blocking commands, the way mellium's own blocklist.Handle does,
// and advertises urn:xmpp:blocking through the mux's features.
//
// The mux serves one session's stream: session is that session's full JID,
// which Handle stamps as the from of every command (clients usually leave it
// out, and a from the client wrote is not to be trusted; RFC 6120 §8.1.2.1).
// The answer is written into the session's own stream, as mellium expects of
// an IQ handler, rather than routed; mellium's mux passes handlers no
// context, so ctx (typically the session's) is the parent of each command's
// context.
//
// mellium runs mux handlers while holding the session's output, so the
// Router given to NewHandler, which still delivers the pushes, must not
// write to this session synchronously: route pushes through a send queue.
// The answer, written directly, may then overtake the pushes queued before
// it for this session; HandleIQ, which routes both, keeps them in order.
func Handle(ctx context.Context, h *Handler, session jid.JID) mux.Option {
	commands := muxHandler{ctx: ctx, handler: h, session: session}
	return func(m *mux.ServeMux) {
		// Only one registration advertises the feature, so that it is
		// listed once.
		mux.IQ(stanza.GetIQ, xml.Name{Space: NS, Local: "blocklist"}, featuredMuxHandler{commands})(m)
		mux.IQ(stanza.SetIQ, xml.Name{Space: NS, Local: "block"}, commands)(m)
		mux.IQ(stanza.SetIQ, xml.Name{Space: NS, Local: "unblock"}, commands)(m)
	}
}

type muxHandler struct {
	ctx     context.Context
	handler *Handler
	session jid.JID
}

// HandleIQ implements mux.IQHandler. r yields the payload's children and
// end, start is the payload's start element.
func (m muxHandler) HandleIQ(iq stanza.IQ, r xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	iq.From = m.session
	payload := xmlstream.MultiReader(xmlstream.Token(start.Copy()), r)
	return m.handler.serve(m.ctx, iq, payload, func(_ context.Context, _ jid.JID, answer xml.TokenReader) error {
		_, err := xmlstream.Copy(r, answer)
		return err
	})
}

type featuredMuxHandler struct {
	muxHandler
}

// ForFeatures implements info.FeatureIter.
func (m featuredMuxHandler) ForFeatures(node string, f func(info.Feature) error) error {
	return m.handler.ForFeatures(node, f)
}
