// Package splice captures a stanza once and renders copies of it that differ
// only in their top-level to attribute: the groupchat fan-out of XEP-0405
// §2.2 and the channel presence relay of §2.9.2 send one stanza to each of a
// user's clients, rewriting nothing but to (design §4: render once, splice
// per recipient).
//
// Rendering a copy takes a few memory copies: no allocation beyond growing
// dst, and no XML work per recipient.
package splice

import (
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"unicode/utf8"

	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
)

// Stanza is a stanza rendered once, without a top-level to attribute.
type Stanza struct {
	raw []byte
	at  int // where ` to="…"` goes: right after the element name
}

// ErrNotElement is returned by Capture when the first token is not a start
// element.
var ErrNotElement = errors.New("splice: stanza does not start with an element")

// Capture renders the element that r yields (start token first), appending
// to dst[:0]. Reading stops at the end element matching the first start
// element, so r may go on past it (a whole stream, say); r ending before that
// end element is io.ErrUnexpectedEOF.
//
// The top-level to attribute is left out; every other attribute, and every
// child, is kept, serialised as internal/xmlenc does.
func Capture(dst []byte, r xml.TokenReader) (Stanza, error) {
	tok, err := r.Token()
	if tok == nil && err != nil {
		return Stanza{}, err
	}
	start, ok := tok.(xml.StartElement)
	if !ok {
		return Stanza{}, ErrNotElement
	}
	start = withoutTo(start)
	raw, err := xmlenc.Append(dst[:0], &element{r: r, start: start}, ns.Client)
	if err != nil {
		return Stanza{}, err
	}
	return Stanza{raw: raw, at: 1 + len(start.Name.Local)}, nil
}

// Bytes returns the stanza without a to attribute. The caller must not
// modify it.
func (s Stanza) Bytes() []byte { return s.raw }

// AppendTo appends the stanza with its to attribute set to to.
func (s Stanza) AppendTo(dst []byte, to string) []byte {
	dst = append(dst, s.raw[:s.at]...)
	dst = append(dst, ` to="`...)
	dst = appendAttrValue(dst, to)
	dst = append(dst, '"')
	return append(dst, s.raw[s.at:]...)
}

// AppendToFull appends the stanza with its to attribute set to the full JID
// bare/resource, both escaped already: a caller that sends one stanza to many
// full JIDs escapes each part once and writes each copy with nothing but
// memory copies. Copies goes further for many resources of one bare JID.
func (s Stanza) AppendToFull(dst []byte, bare, resource Escaped) []byte {
	dst = append(dst, s.raw[:s.at]...)
	dst = append(dst, ` to="`...)
	dst = append(dst, bare...)
	dst = append(dst, '/')
	dst = append(dst, resource...)
	dst = append(dst, '"')
	return append(dst, s.raw[s.at:]...)
}

// Copies renders copies of one stanza to the resources of one bare JID
// (the fan-out of XEP-0405 §2.2). It writes the stanza from the end of its
// to attribute on once, at the end of its buffer, and for each copy only
// what comes before: the element name and the full JID. So a copy costs a
// few dozen bytes of writing whatever the size of the stanza. The zero
// value is not usable: call Stanza.Copies.
type Copies struct {
	buf  []byte // room for a head, then `"` and the rest of the stanza
	tail int    // where `"` starts
	head []byte // `<message to="bare/`, kept at the start of buf
}

// copiesRoom is the room Copies leaves for a resourcepart at first: enough
// for any but a hostile one, which makes it grow.
const copiesRoom = 256

// Copies returns a Copies of s addressed to resources of bare (escaped
// already), reusing buf's memory.
func (s Stanza) Copies(buf []byte, bare Escaped) Copies {
	n := s.at + len(` to="`) + len(bare) + len("/")
	buf = slices.Grow(buf[:0], 2*n+copiesRoom+len(s.raw)-s.at+1)
	buf = append(buf, s.raw[:s.at]...)
	buf = append(buf, ` to="`...)
	buf = append(buf, bare...)
	buf = append(buf, '/')
	var c Copies
	c.layout(buf, n, copiesRoom, s.raw[s.at:])
	return c
}

// layout lays out buf, which starts with the head of length n, to leave
// room for a head and a resourcepart of up to room bytes before `"` and
// rest.
func (c *Copies) layout(buf []byte, n, room int, rest []byte) {
	c.tail = 2*n + room
	buf = slices.Grow(buf, c.tail+1+len(rest)-n)[:c.tail]
	buf = append(buf, '"')
	c.buf, c.head = append(buf, rest...), buf[:n]
}

// To returns the copy addressed to bare/resource, resource escaped already.
// It stays valid until the next call.
func (c *Copies) To(resource Escaped) []byte {
	at := c.tail - len(c.head) - len(resource)
	if at < len(c.head) {
		buf := append(make([]byte, 0, 2*len(c.buf)+len(resource)), c.head...)
		c.layout(buf, len(c.head), len(resource), c.buf[c.tail+1:])
		at = c.tail - len(c.head) - len(resource)
	}
	copy(c.buf[at:], c.head)
	copy(c.buf[at+len(c.head):], resource)
	return c.buf[at:]
}

// Buffer returns the memory c writes into, for reuse once c and its copies
// are no longer needed.
func (c *Copies) Buffer() []byte { return c.buf[:0] }

// Escaped is a string escaped for use as a double-quoted attribute value.
type Escaped string

// Escape escapes v for use as a double-quoted attribute value. It returns v
// itself, without allocating, when v needs no escaping, as JIDs almost never
// do.
func Escape(v string) Escaped {
	if i := escapeAt(v); i >= 0 {
		return Escaped(xmlenc.AppendEscaped([]byte(v[:i]), v[i:], true))
	}
	return Escaped(v)
}

// appendAttrValue appends v escaped as a double-quoted attribute value.
func appendAttrValue(dst []byte, v string) []byte {
	if i := escapeAt(v); i >= 0 {
		return xmlenc.AppendEscaped(append(dst, v[:i]...), v[i:], true)
	}
	return append(dst, v...)
}

// escapeAt returns the index of the first byte of v that an attribute value
// may not carry as is, or -1. Anything outside printable ASCII counts, so
// that xmlenc can check it.
func escapeAt(v string) int {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c < 0x20, c >= utf8.RuneSelf, c == '&', c == '<', c == '>', c == '"':
			return i
		}
	}
	return -1
}

// element yields start, then r's tokens up to the end element matching
// start, then io.EOF.
type element struct {
	r     xml.TokenReader
	start xml.StartElement
	depth int
	done  bool
}

func (e *element) Token() (xml.Token, error) {
	switch {
	case e.done:
		return nil, io.EOF
	case e.depth == 0:
		e.depth = 1
		return e.start, nil
	}
	tok, err := e.r.Token()
	switch t := tok.(type) {
	case xml.StartElement:
		e.depth++
	case xml.EndElement:
		e.depth--
		if e.depth == 0 {
			// The element is complete: whatever r has to say after it is
			// not ours to read.
			e.done = true
			return t, nil
		}
	}
	return tok, err
}

// withoutTo returns start without its to attributes.
func withoutTo(start xml.StartElement) xml.StartElement {
	n := 0
	for _, a := range start.Attr {
		if isTo(a.Name) {
			n++
		}
	}
	if n == 0 {
		return start
	}
	attrs := make([]xml.Attr, 0, len(start.Attr)-n)
	for _, a := range start.Attr {
		if !isTo(a.Name) {
			attrs = append(attrs, a)
		}
	}
	start.Attr = attrs
	return start
}

func isTo(n xml.Name) bool { return n.Space == "" && n.Local == "to" }

// Make returns the Stanza raw, which must be one well-formed element without
// a top-level to attribute, whose to goes at at (right after the element
// name). The Stanza uses raw's memory.
func Make(raw []byte, at int) Stanza { return Stanza{raw: raw, at: at} }
