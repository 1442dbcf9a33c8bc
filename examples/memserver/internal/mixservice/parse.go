package mixservice

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/ns"
)

// This file reads the untrusted stanzas handed to Deliver.

// Stanza kinds and the type values the service tells apart (RFC 6120 §8).
const (
	kindIQ       = "iq"
	kindMessage  = "message"
	kindPresence = "presence"

	typeError  = "error"
	typeResult = "result"
	typeGet    = "get"
	typeSet    = "set"
)

// nsXML is the namespace of the xml: prefix (xml:lang).
const nsXML = "http://www.w3.org/XML/1998/namespace"

// inbound is a stanza handed to Deliver: its header, read, and a decoder
// positioned after its start element.
type inbound struct {
	kind  string
	typ   string
	id    string
	lang  string // xml:lang
	from  jid.JID
	to    jid.JID
	toErr error // to is present and malformed
	d     *xml.Decoder
}

// readHeader reads the start element of raw. It fails with ErrNotStanza
// when raw does not start with a message, presence or iq element in a
// stanza namespace, or when the element repeats an attribute the service
// reads (XML forbids it, and the two values would leave it unclear whom to
// answer), and with ErrNoSender when from is missing or malformed.
func readHeader(raw []byte) (*inbound, error) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	var start xml.StartElement
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, ErrNotStanza
		}
		if t, ok := tok.(xml.StartElement); ok {
			start = t
			break
		}
		if t, ok := tok.(xml.CharData); !ok || len(bytes.TrimSpace(t)) > 0 {
			return nil, ErrNotStanza
		}
	}
	switch start.Name.Space {
	case "", ns.Client, "jabber:server", "jabber:component:accept":
	default:
		return nil, ErrNotStanza
	}
	in := &inbound{kind: start.Name.Local, d: d}
	switch in.kind {
	case kindIQ, kindMessage, kindPresence:
	default:
		return nil, ErrNotStanza
	}
	var from, to string
	fields := [...]struct {
		name xml.Name
		val  *string
		seen bool
	}{
		{name: xml.Name{Space: nsXML, Local: "lang"}, val: &in.lang},
		{name: xml.Name{Local: "type"}, val: &in.typ},
		{name: xml.Name{Local: "id"}, val: &in.id},
		{name: xml.Name{Local: "from"}, val: &from},
		{name: xml.Name{Local: "to"}, val: &to},
	}
	for _, a := range start.Attr {
		for i := range fields {
			f := &fields[i]
			if a.Name != f.name {
				continue
			}
			if f.seen {
				return nil, ErrNotStanza
			}
			f.seen, *f.val = true, a.Value
		}
	}
	if from == "" {
		return nil, ErrNoSender
	}
	var err error
	if in.from, err = jid.Parse(from); err != nil {
		return nil, ErrNoSender
	}
	if to != "" {
		in.to, in.toErr = jid.Parse(to)
	}
	return in, nil
}

// isResponse reports whether in answers something: an error, or an IQ
// result. Responses are never answered (RFC 6120 §8.3.1), so two entities
// cannot bounce stanzas forever.
func (in *inbound) isResponse() bool {
	return in.typ == typeError || in.kind == kindIQ && in.typ == typeResult
}

// answerable reports whether in may get an error answer: neither a
// response nor unavailable presence (which RFC 6121 §4.5 never answers).
func (in *inbound) answerable() bool {
	return !in.isResponse() && !(in.kind == kindPresence && in.typ == typeUnavailable)
}

// request is the payload of an IQ get or set: its one element, with the
// attributes and text of that element's children. Deeper elements are
// checked for well-formedness and skipped: no request of MIX core needs
// them.
type request struct {
	name     xml.Name
	attr     []xml.Attr
	children []child
}

// child is an element inside a request's element.
type child struct {
	name xml.Name
	attr []xml.Attr
	text string
}

// maxChildren bounds the elements a request may hold: the largest request
// of MIX core, a join, has six (four subscribe, a nick, a form).
const maxChildren = 64

// Errors of readRequest, used as the texts of bad-request answers.
var (
	errNoPayload   = errors.New("an IQ get or set must hold exactly one element; this one holds none")
	errTwoPayloads = errors.New("an IQ get or set must hold exactly one element; this one holds more")
	errTooMany     = errors.New("the request holds too many elements")
	errMalformed   = errors.New("the stanza is not well-formed XML")
)

// readRequest reads the payload of an IQ get or set up to the IQ's end
// element (RFC 6120 §8.2.3: exactly one child element).
func (in *inbound) readRequest() (request, error) {
	var req request
	found := false
	for {
		tok, err := in.d.Token()
		if err != nil {
			return request{}, errMalformed
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if found {
				return request{}, errTwoPayloads
			}
			found = true
			req.name, req.attr = t.Name, t.Copy().Attr
			if req.children, err = readChildren(in.d); err != nil {
				return request{}, err
			}
		case xml.EndElement:
			if !found {
				return request{}, errNoPayload
			}
			return req, nil
		}
	}
}

// readChildren reads the children of the element just started, up to its
// end element.
func readChildren(d *xml.Decoder) ([]child, error) {
	var children []child
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, errMalformed
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(children) == maxChildren {
				return nil, errTooMany
			}
			c := child{name: t.Name, attr: t.Copy().Attr}
			if c.text, err = readText(d); err != nil {
				return nil, err
			}
			children = append(children, c)
		case xml.EndElement:
			return children, nil
		}
	}
}

// readText returns the character data directly inside the element just
// started, up to its end element, skipping the elements inside it.
func readText(d *xml.Decoder) (string, error) {
	var text []byte
	for {
		tok, err := d.Token()
		if err != nil {
			return "", errMalformed
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := d.Skip(); err != nil {
				return "", errMalformed
			}
		case xml.CharData:
			text = append(text, t...)
		case xml.EndElement:
			return string(text), nil
		}
	}
}

// attr returns the value of the attribute local (in no namespace) of attrs,
// and whether it is there.
func attr(attrs []xml.Attr, local string) (string, bool) {
	for _, a := range attrs {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

// appendChildren reads the rest of the stanza, up to its end element, and
// appends its children, serialised as host.AppendStanza does, to dst, leaving
// out the top-level children for which drop reports true.
func (in *inbound) appendChildren(dst []byte, drop func(xml.StartElement) bool) ([]byte, error) {
	out, err := host.AppendStanza(dst, &children{d: in.d, drop: drop})
	if err != nil {
		return dst, errMalformed
	}
	return out, nil
}

// children yields the tokens of a stanza's children, up to the stanza's end
// element, leaving out the children drop reports true for.
type children struct {
	d     *xml.Decoder
	drop  func(xml.StartElement) bool
	depth int
	done  bool
}

func (c *children) Token() (xml.Token, error) {
	for !c.done {
		tok, err := c.d.Token()
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF // the stanza was never closed
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if c.depth == 0 && c.drop(t) {
				if err := c.d.Skip(); err != nil {
					return nil, err
				}
				continue
			}
			c.depth++
		case xml.EndElement:
			if c.depth == 0 {
				c.done = true
				continue
			}
			c.depth--
		}
		return tok, nil
	}
	return nil, io.EOF
}
