package packet

import (
	"encoding/xml"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
)

// ErrorReply returns the error stanza answering p (RFC 6120 §8.3): same kind
// and id, from and to swapped, type error. from stands in for p's to when p
// had none (a stanza to the sender's own account or server). It reports false
// when no answer is due: errors are never answered with errors, nor IQ
// results (RFC 6120 §8.3.1), so two entities cannot bounce stanzas forever.
func ErrorReply(p Packet, from jid.JID, e stanza.Error) (Packet, bool) {
	if p.Type == "error" || (p.Kind == IQ && p.Type == string(stanza.ResultIQ)) {
		return Packet{}, false
	}
	if p.To.String() != "" {
		from = p.To
	}
	if e.Type == "" {
		e.Type = stanza.Cancel
	}
	var r xml.TokenReader
	switch p.Kind {
	case IQ:
		r = stanza.IQ{ID: p.ID, From: from, To: p.From, Type: stanza.ErrorIQ}.Wrap(e.TokenReader())
	case Message:
		r = stanza.Message{ID: p.ID, From: from, To: p.From, Type: stanza.ErrorMessage}.Wrap(e.TokenReader())
	case Presence:
		r = stanza.Presence{ID: p.ID, From: from, To: p.From, Type: stanza.ErrorPresence}.Wrap(e.TokenReader())
	default:
		return Packet{}, false
	}
	out, err := Encode(r)
	if err != nil {
		return Packet{}, false
	}
	return out, true
}

// Err builds a stanza error of type cancel (or auth, modify, wait for the
// conditions RFC 6120 §8.3.3 pairs with them) with a human-readable text.
func Err(cond stanza.Condition, text string) stanza.Error {
	t := stanza.Cancel
	switch cond {
	case stanza.BadRequest, stanza.JIDMalformed, stanza.NotAcceptable, stanza.PolicyViolation:
		t = stanza.Modify
	case stanza.NotAuthorized, stanza.Forbidden:
		t = stanza.Auth
	case stanza.ResourceConstraint, stanza.RemoteServerTimeout, stanza.RecipientUnavailable:
		t = stanza.Wait
	}
	return stanza.Error{Type: t, Condition: cond, Text: map[string]string{"": text}}
}
