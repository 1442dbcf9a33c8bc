// Package rawstanza renders stanza framing as bytes, the way
// host.RawRouter takes stanzas: UTF-8, no XML declaration, and no xmlns on
// the top-level element, which is in the stanza namespace of whatever
// stream it is written into.
package rawstanza

import (
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/xmlenc"
)

// AppendIQStart appends the start tag of an IQ of type typ with id, from
// and to, escaped, without its closing '>': the caller ends it with '>' and
// the IQ's payload and "</iq>", or with "/>" for an IQ without payload.
func AppendIQStart(dst []byte, typ stanza.IQType, id string, from, to jid.JID) []byte {
	dst = append(dst, `<iq type="`...)
	dst = xmlenc.AppendEscaped(dst, string(typ), true)
	dst = append(dst, `" id="`...)
	dst = xmlenc.AppendEscaped(dst, id, true)
	dst = append(dst, `" from="`...)
	dst = xmlenc.AppendEscaped(dst, from.String(), true)
	dst = append(dst, `" to="`...)
	dst = xmlenc.AppendEscaped(dst, to.String(), true)
	return append(dst, '"')
}
