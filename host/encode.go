package host

import (
	"encoding/xml"

	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
)

// AppendStanza reads the tokens of one stanza from r (what Router.Route is
// given) and appends them to dst serialised as RawRouter.RouteRaw takes
// them: each namespace declared once, prefixed attributes and xmlns=""
// kept, no xmlns on the top-level element. encoding/xml's Encoder, fed the
// same tokens, writes every namespace twice, which is not well-formed: a
// host that writes Route's stanzas as bytes uses AppendStanza.
func AppendStanza(dst []byte, r xml.TokenReader) ([]byte, error) {
	return xmlenc.Append(dst, r, ns.Client)
}
