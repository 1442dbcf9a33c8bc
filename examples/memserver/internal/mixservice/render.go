package mixservice

import (
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
)

// This file renders the stanzas the service sends: once, without a to
// attribute, which is inserted for each recipient as they are routed.

// outgoing is a stanza to send to one or more recipients.
type outgoing struct {
	raw []byte      // the stanza without a to attribute, as RouteRaw takes it
	at  int         // where ` to="…"` goes: right after the element name
	to  []recipient // the recipients
}

// recipient is a JID to send to, with its to attribute rendered once.
type recipient struct {
	jid  jid.JID
	attr []byte // ` to="…"`
}

// newRecipient returns the recipient j.
func newRecipient(j jid.JID) recipient {
	return recipient{jid: j, attr: appendAttr(nil, "to", j.String())}
}

// appendTo appends the stanza addressed to to.
func (o outgoing) appendTo(dst []byte, to recipient) []byte {
	dst = append(dst, o.raw[:o.at]...)
	dst = append(dst, to.attr...)
	return append(dst, o.raw[o.at:]...)
}

// stanzaStart returns the start of a stanza of kind from from, with id and
// type when they are not empty, left open for more attributes, and where its
// to attribute goes.
func stanzaStart(kind string, from jid.JID, id, typ string) ([]byte, int) {
	b := make([]byte, 0, 256)
	b = append(b, '<')
	b = append(b, kind...)
	at := len(b)
	b = appendAttr(b, "from", from.String())
	if id != "" {
		b = appendAttr(b, "id", id)
	}
	if typ != "" {
		b = appendAttr(b, "type", typ)
	}
	return b, at
}

// stanzaEnd closes a stanza of kind.
func stanzaEnd(b []byte, kind string) []byte {
	b = append(b, "</"...)
	b = append(b, kind...)
	return append(b, '>')
}

// appendAttr appends ` name="value"`, value escaped.
func appendAttr(dst []byte, name, value string) []byte {
	dst = append(dst, ' ')
	dst = append(dst, name...)
	dst = append(dst, `="`...)
	dst = host.AppendEscaped(dst, value, true)
	return append(dst, '"')
}

// appendText appends <name>text</name>, text escaped.
func appendText(dst []byte, name, text string) []byte {
	dst = append(dst, '<')
	dst = append(dst, name...)
	dst = append(dst, '>')
	dst = host.AppendEscaped(dst, text, false)
	dst = append(dst, "</"...)
	dst = append(dst, name...)
	return append(dst, '>')
}

// appendOpen appends <name xmlns="space", left open for attributes. space
// may be empty.
func appendOpen(dst []byte, name, space string) []byte {
	dst = append(dst, '<')
	dst = append(dst, name...)
	if space != "" {
		dst = appendAttr(dst, "xmlns", space)
	}
	return dst
}

// result returns the IQ result answering in, with payload (serialised,
// possibly empty) inside.
func (in *inbound) result(payload []byte) outgoing {
	b, at := stanzaStart(kindIQ, in.to, in.id, typeResult)
	b = append(b, '>')
	b = append(b, payload...)
	b = stanzaEnd(b, kindIQ)
	return outgoing{raw: b, at: at, to: []recipient{newRecipient(in.from)}}
}

// errorReply returns the error stanza answering in (RFC 6120 §8.3): same
// kind and id, from in's to (the service when in had none), type error.
func (in *inbound) errorReply(e stanza.Error) outgoing {
	b, at := stanzaStart(in.kind, in.to, in.id, typeError)
	b = append(b, '>')
	// mellium's tokens are balanced: Append cannot fail.
	b, _ = host.AppendStanza(b, e.TokenReader())
	b = stanzaEnd(b, in.kind)
	return outgoing{raw: b, at: at, to: []recipient{newRecipient(in.from)}}
}

// refuse returns a handler that answers in with e, if in may be answered
// (inbound.answerable), and changes nothing.
func (in *inbound) refuse(e stanza.Error) handler {
	if !in.answerable() {
		return nothing
	}
	return func(*channel) []outgoing { return []outgoing{in.errorReply(e)} }
}

// stanzaError builds a stanza error with the type RFC 6120 §8.3.3 pairs
// with cond, and a human-readable text.
func stanzaError(cond stanza.Condition, text string) stanza.Error {
	t := stanza.Cancel
	switch cond {
	case stanza.BadRequest, stanza.JIDMalformed, stanza.NotAcceptable, stanza.PolicyViolation:
		t = stanza.Modify
	case stanza.Forbidden, stanza.NotAuthorized:
		t = stanza.Auth
	case stanza.ResourceConstraint:
		t = stanza.Wait
	}
	return stanza.Error{Type: t, Condition: cond, Text: map[string]string{"": text}}
}
