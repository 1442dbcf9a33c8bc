package archive

import (
	"context"
	"encoding/xml"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/xmlenc"
)

// Handle returns an option that registers h on a mellium mux.ServeMux for
// the MAM queries (type set), form requests and archive metadata requests
// (type get) of one client session, whose full JID is session, and
// advertises the features of MAMFeatures through the mux's features. It stamps every query with from=session (a client
// cannot speak for another session; RFC 6120 §8.1.2.1) and writes the
// result messages and the answer into the session's own stream, as mellium
// expects of an IQ handler. mellium's mux passes handlers no context, so ctx
// (typically the session's) bounds the work of every query.
//
// The handler returns an error, which ends mellium's session, only when the
// answer could not be written.
func Handle(ctx context.Context, h *MAMHandler, session jid.JID) mux.Option {
	hf := mamMuxHandler{ctx: ctx, h: h, session: session}
	name := xml.Name{Space: NSMAM, Local: "query"}
	return func(m *mux.ServeMux) {
		mux.IQ(stanza.SetIQ, name, hf)(m)
		mux.IQ(stanza.GetIQ, name, mamFeaturedMuxHandler{hf})(m)
		mux.IQ(stanza.GetIQ, xml.Name{Space: NSMAM, Local: mamMetadata}, hf)(m)
	}
}

type mamMuxHandler struct {
	ctx     context.Context
	h       *MAMHandler
	session jid.JID
}

// HandleIQ implements mux.IQHandler: t yields the payload's children and
// end, start is the payload's start element.
func (m mamMuxHandler) HandleIQ(iq stanza.IQ, t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	iq.From = m.session
	payload := xmlstream.MultiReader(xmlstream.Token(start.Copy()), t)
	return m.h.serve(m.ctx, iq, payload, func(_ context.Context, raw []byte) error {
		_, err := xmlstream.Copy(t, xmlenc.EncoderTokens(raw))
		return err
	})
}

// mamFeaturedMuxHandler is registered once, so that the mux lists the
// feature once.
type mamFeaturedMuxHandler struct{ mamMuxHandler }

// ForFeatures implements info.FeatureIter.
func (m mamFeaturedMuxHandler) ForFeatures(node string, f func(info.Feature) error) error {
	return m.h.ForFeatures(node, f)
}
