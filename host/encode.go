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

// AppendEscaped appends s to dst escaped as XML character data (attr false)
// or as a double-quoted attribute value (attr true), characters XML cannot
// carry replaced by U+FFFD, as AppendStanza escapes them. A host that writes
// its own XML as bytes (stream headers, stanzas of its own around what
// mixpam hands it) uses it instead of encoding/xml's EscapeText, which needs
// an io.Writer and escapes more than it must.
func AppendEscaped(dst []byte, s string, attr bool) []byte {
	return xmlenc.AppendEscaped(dst, s, attr)
}
