package wire

import (
	"encoding/xml"
	"io"

	"mellium.im/xmlstream"
)

// Element is one top-level element read from a stream: a stanza, or a
// negotiation element such as <starttls/> or <auth/>. Its tokens are copies,
// owned by the Element.
type Element struct {
	// Start is the element's start tag, its name resolved to a namespace.
	Start xml.StartElement
	// Inner holds every token between the start and end tags.
	Inner []xml.Token
}

// Is reports whether the element is space:local.
func (e Element) Is(space, local string) bool {
	return e.Start.Name.Space == space && e.Start.Name.Local == local
}

// Attr returns the value of the unqualified attribute local, or "".
func (e Element) Attr(local string) string {
	for _, a := range e.Start.Attr {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// Text returns the concatenated character data directly inside the element.
func (e Element) Text() string {
	var b []byte
	depth := 0
	for _, tok := range e.Inner {
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 {
				b = append(b, t...)
			}
		}
	}
	return string(b)
}

// Tokens returns a reader of the whole element, start and end tags included.
func (e Element) Tokens() xml.TokenReader {
	return xmlstream.Wrap(e.Payload(), e.Start)
}

// Payload returns a reader of the tokens inside the element.
func (e Element) Payload() xml.TokenReader {
	return &sliceReader{toks: e.Inner}
}

// FirstChild returns the start tag of the first child element.
func (e Element) FirstChild() (xml.StartElement, bool) {
	for _, tok := range e.Inner {
		if s, ok := tok.(xml.StartElement); ok {
			return s, true
		}
	}
	return xml.StartElement{}, false
}

type sliceReader struct {
	toks []xml.Token
}

// Token implements xml.TokenReader.
func (r *sliceReader) Token() (xml.Token, error) {
	if len(r.toks) == 0 {
		return nil, io.EOF
	}
	t := r.toks[0]
	r.toks = r.toks[1:]
	return t, nil
}
