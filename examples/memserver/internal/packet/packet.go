// Package packet is the server's form of a stanza in flight: its bytes,
// serialised as host.RawRouter.RouteRaw carries them (no xmlns on the
// top-level element, children declaring their own namespaces), and the
// header fields that routing decides on (RFC 6120 §8.1).
package packet

import (
	"bytes"
	"encoding/xml"
	"fmt"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/ns"
)

// Kind is a stanza's element name.
type Kind string

// Stanza kinds (RFC 6120 §8).
const (
	Message  Kind = "message"
	Presence Kind = "presence"
	IQ       Kind = "iq"
)

// Packet is one stanza.
type Packet struct {
	Kind     Kind
	Type     string
	ID       string
	From, To jid.JID
	// Raw is the whole stanza. It is never modified in place.
	Raw []byte
}

// Parse reads the header of a serialised stanza. It does not check that the
// rest of raw is well-formed; Payload does, as it reads.
func Parse(raw []byte) (Packet, error) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	tok, err := d.Token()
	if err != nil {
		return Packet{}, fmt.Errorf("packet: %w", err)
	}
	start, ok := tok.(xml.StartElement)
	if !ok {
		return Packet{}, fmt.Errorf("packet: stanza does not start with an element")
	}
	p, err := FromStart(start)
	p.Raw = raw
	return p, err
}

// FromStart reads the header fields of a stanza's start tag. The namespace
// must be empty or a stanza namespace. On a malformed JID it returns the
// fields read so far and an error.
func FromStart(start xml.StartElement) (Packet, error) {
	switch start.Name.Space {
	case "", ns.Client, "jabber:server", "jabber:component:accept":
	default:
		return Packet{}, fmt.Errorf("packet: element in namespace %q is not a stanza", start.Name.Space)
	}
	p := Packet{Kind: Kind(start.Name.Local)}
	switch p.Kind {
	case Message, Presence, IQ:
	default:
		return Packet{}, fmt.Errorf("packet: <%s/> is not a stanza", start.Name.Local)
	}
	var errs []error
	for _, a := range start.Attr {
		if a.Name.Space != "" {
			continue
		}
		switch a.Name.Local {
		case "type":
			p.Type = a.Value
		case "id":
			p.ID = a.Value
		case "to":
			j, err := parseJID(a.Value)
			p.To = j
			errs = append(errs, err)
		case "from":
			j, err := parseJID(a.Value)
			p.From = j
			errs = append(errs, err)
		}
	}
	for _, err := range errs {
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

func parseJID(s string) (jid.JID, error) {
	if s == "" {
		return jid.JID{}, nil
	}
	j, err := jid.Parse(s)
	if err != nil {
		return jid.JID{}, fmt.Errorf("packet: malformed JID %q: %w", s, err)
	}
	return j, nil
}

// Decoder returns the start tag of the stanza and a reader of its payload
// (the tokens inside it).
func (p Packet) Decoder() (xml.StartElement, xml.TokenReader, error) {
	d := xml.NewDecoder(bytes.NewReader(p.Raw))
	tok, err := d.Token()
	if err != nil {
		return xml.StartElement{}, nil, err
	}
	start, ok := tok.(xml.StartElement)
	if !ok {
		return xml.StartElement{}, nil, fmt.Errorf("packet: stanza does not start with an element")
	}
	return start, xmlstream.Inner(d), nil
}

// Payload returns a reader of the tokens inside the stanza. A stanza that
// cannot be read yields an empty payload.
func (p Packet) Payload() xml.TokenReader {
	_, r, err := p.Decoder()
	if err != nil {
		return xmlstream.Token(nil)
	}
	return r
}

// IQ returns the stanza header as a mellium IQ.
func (p Packet) IQ() stanza.IQ {
	return stanza.IQ{ID: p.ID, To: p.To, From: p.From, Type: stanza.IQType(p.Type)}
}

// Message returns the stanza header as a mellium Message.
func (p Packet) Message() stanza.Message {
	return stanza.Message{ID: p.ID, To: p.To, From: p.From, Type: stanza.MessageType(p.Type)}
}

// Presence returns the stanza header as a mellium Presence.
func (p Packet) Presence() stanza.Presence {
	return stanza.Presence{ID: p.ID, To: p.To, From: p.From, Type: stanza.PresenceType(p.Type)}
}

// IsRequest reports whether the stanza is an IQ of type get or set.
func (p Packet) IsRequest() bool {
	return p.Kind == IQ && (p.Type == string(stanza.GetIQ) || p.Type == string(stanza.SetIQ))
}

// Rewrite returns the stanza re-serialised after edit changed its start tag
// (to stamp from, say). p.Raw is not modified.
func (p Packet) Rewrite(edit func(*xml.StartElement)) (Packet, error) {
	start, payload, err := p.Decoder()
	if err != nil {
		return Packet{}, err
	}
	start = start.Copy()
	edit(&start)
	return Encode(xmlstream.Wrap(payload, start))
}

// Encode serialises a stanza given as tokens and parses its header.
func Encode(r xml.TokenReader) (Packet, error) {
	raw, err := host.AppendStanza(nil, r)
	if err != nil {
		return Packet{}, err
	}
	return Parse(raw)
}

// SetAttr sets the unqualified attribute local of start to value, or removes
// it when value is "".
func SetAttr(start *xml.StartElement, local, value string) {
	attrs := start.Attr[:0:0]
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == local {
			continue
		}
		attrs = append(attrs, a)
	}
	if value != "" {
		attrs = append(attrs, xml.Attr{Name: xml.Name{Local: local}, Value: value})
	}
	start.Attr = attrs
}
