// Package rawstanza renders stanza framing as bytes, the way
// host.RawRouter takes stanzas: UTF-8, no XML declaration, and no xmlns on
// the top-level element, which is in the stanza namespace of whatever
// stream it is written into. Error builds the stanza errors mixpam's
// handlers answer with.
package rawstanza

import (
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/xmlenc"
)

// Error returns the stanza error of type typ and condition cond with a
// human-readable text in no particular language (RFC 6120 §8.3.2).
func Error(typ stanza.ErrorType, cond stanza.Condition, text string) stanza.Error {
	return stanza.Error{Type: typ, Condition: cond, Text: map[string]string{"": text}}
}

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

// AppendIQError appends the error answer to the request req: from req.To
// (req.From's bare JID when req has no to, the account itself; RFC 6120
// §10.3.3), to req.From, with req's id and the error se.
func AppendIQError(dst []byte, req stanza.IQ, se stanza.Error) []byte {
	from := req.To
	if from.Equal(jid.JID{}) {
		from = req.From.Bare()
	}
	dst = AppendIQStart(dst, stanza.ErrorIQ, req.ID, from, req.From)
	dst = append(dst, '>')
	// A stanza.Error renders to well-formed tokens: Append cannot fail.
	dst, _ = xmlenc.Append(dst, se.TokenReader(), "jabber:client")
	return append(dst, "</iq>"...)
}
