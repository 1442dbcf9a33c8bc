// Package rawxml checks serialised XML in a narrow subset, the one servers
// write stanzas in, without decoding it into tokens: the groupchat fan-out
// of XEP-0405 §2.2 takes the bytes a channel sent and, for the common case,
// needs to know only that they are one well-formed element, where its
// children are, and a few attribute values. Decoding with encoding/xml
// costs tens of allocations and most of the fan-out's time for that.
//
// The subset: elements and attributes named with ASCII letters, digits, '.',
// '-' and '_' (an element name without a prefix; an attribute name without
// one, or with xml:); attribute values in single or double quotes; text and
// values of XML characters in UTF-8 with the five predefined entity
// references and character references; at most MaxDepth levels and
// MaxAttrs attributes per tag. Anything else — a comment, CDATA, a
// processing instruction, a DOCTYPE, a prefixed element, an xmlns:prefix
// declaration, a repeated attribute, "]]>" in text
// — is reported as outside the subset, never as an error: the caller
// decodes such input the usual way, which accepts or refuses it. So a
// caller never accepts through this package what encoding/xml would refuse.
//
// mixpam hands hosts stanzas as bytes (host.ReplyFunc, host.RawRouter);
// the package is public so that a host can read their start tags (to,
// from, type, id) the same way, without a decoder, as the example server's
// router does.
package rawxml

import (
	"bytes"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of elements in the subset.
const MaxDepth = 64

// MaxAttrs is the most attributes a start tag in the subset has. It bounds
// the check for repeated attributes (quadratic in their number) and the
// memory a reused Tag keeps; stanzas carry a handful.
const MaxAttrs = 32

// Attr is an attribute of a start tag.
type Attr struct {
	// Name is the attribute's name as written (xml:lang, by).
	Name []byte
	// Value is the value as written between the quotes: references are
	// not expanded (HasRef tells whether there are any).
	Value []byte
	// Start and End delimit the attribute in its tag, from the white space
	// before the name to the closing quote included.
	Start, End int
}

// HasRef reports whether the value holds an entity or character reference.
func (a Attr) HasRef() bool { return bytes.IndexByte(a.Value, '&') >= 0 }

// Tag is a start tag.
type Tag struct {
	// Name is the element's name.
	Name []byte
	// Attrs are its attributes in order.
	Attrs []Attr
	// Len is the length of the tag, '>' included.
	Len int
	// Empty reports a tag closed with "/>".
	Empty bool
}

// Attr returns the value of the attribute named name.
func (t *Tag) Attr(name string) (Attr, bool) {
	for _, a := range t.Attrs {
		if string(a.Name) == name {
			return a, true
		}
	}
	return Attr{}, false
}

// ScanTag reads the start tag at the beginning of b into t, reusing the
// memory of t.Attrs. It reports false when b does not start with a start
// tag in the subset.
func ScanTag(b []byte, t *Tag) bool {
	t.Attrs, t.Empty = t.Attrs[:0], false
	if len(b) < 2 || b[0] != '<' {
		return false
	}
	n := nameLen(b[1:], false)
	if n == 0 {
		return false
	}
	t.Name = b[1 : 1+n]
	i := 1 + n
	for {
		ws := spaceLen(b[i:])
		start := i
		i += ws
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case '>':
			t.Len = i + 1
			return true
		case '/':
			if i+1 < len(b) && b[i+1] == '>' {
				t.Len, t.Empty = i+2, true
				return true
			}
			return false
		}
		if ws == 0 {
			return false
		}
		n := nameLen(b[i:], true)
		if n == 0 {
			return false
		}
		a := Attr{Name: b[i : i+n], Start: start}
		i += n
		i += spaceLen(b[i:])
		if i >= len(b) || b[i] != '=' {
			return false
		}
		i++
		i += spaceLen(b[i:])
		if i >= len(b) || b[i] != '"' && b[i] != '\'' {
			return false
		}
		q := b[i]
		i++
		vs := i
		for {
			if i >= len(b) {
				return false
			}
			c := b[i]
			if c == q {
				break
			}
			if isPlain(c) {
				i++
				continue
			}
			n := charLen(b[i:])
			if n == 0 {
				return false
			}
			i += n
		}
		a.Value = b[vs:i]
		i++
		a.End = i
		if len(t.Attrs) == MaxAttrs {
			return false
		}
		for _, prev := range t.Attrs {
			if bytes.Equal(prev.Name, a.Name) {
				return false
			}
		}
		t.Attrs = append(t.Attrs, a)
	}
}

// Scanner checks whole elements. The zero value is ready; a Scanner reuses
// its memory from one element to the next and is not safe for concurrent
// use.
type Scanner struct {
	// Top is the start tag of the element last checked.
	Top Tag
	// EndTag is where the element's end tag starts (len of the element for
	// an empty element).
	EndTag int

	child Tag
	inner Tag
	open  [][]byte
}

// Reset drops the Scanner's references to the last element checked, keeping
// its memory.
func (s *Scanner) Reset() {
	clear(s.Top.Attrs[:cap(s.Top.Attrs)])
	clear(s.child.Attrs[:cap(s.child.Attrs)])
	clear(s.inner.Attrs[:cap(s.inner.Attrs)])
	clear(s.open[:cap(s.open)])
	s.Top = Tag{Attrs: s.Top.Attrs[:0]}
	s.child = Tag{Attrs: s.child.Attrs[:0]}
	s.inner = Tag{Attrs: s.inner.Attrs[:0]}
	s.open = s.open[:0]
}

// Element reports whether raw is exactly one element in the subset. It
// calls child, if not nil, for each child element of the top-level one, in
// order, with its start tag and the range [start, end) it takes in raw (the
// tag's Attrs are relative to start); child returning false stops the check
// and makes Element report false.
func (s *Scanner) Element(raw []byte, child func(t *Tag, start, end int) bool) bool {
	if !ScanTag(raw, &s.Top) {
		return false
	}
	i := s.Top.Len
	if s.Top.Empty {
		s.EndTag = i
		return i == len(raw)
	}
	s.open = append(s.open[:0], s.Top.Name)
	childStart := 0
	for i < len(raw) {
		if raw[i] != '<' {
			n := textLen(raw[i:])
			if n == 0 {
				return false
			}
			i += n
			continue
		}
		if i+1 < len(raw) && raw[i+1] == '/' {
			n := endTagLen(raw[i:], s.open[len(s.open)-1])
			if n == 0 {
				return false
			}
			s.open = s.open[:len(s.open)-1]
			switch len(s.open) {
			case 0:
				s.EndTag = i
				return i+n == len(raw)
			case 1:
				if child != nil && !child(&s.child, childStart, i+n) {
					return false
				}
			}
			i += n
			continue
		}
		t := &s.inner
		if len(s.open) == 1 {
			t, childStart = &s.child, i
		}
		if !ScanTag(raw[i:], t) {
			return false
		}
		i += t.Len
		switch {
		case t.Empty:
			if len(s.open) == 1 && child != nil && !child(t, childStart, i) {
				return false
			}
		case len(s.open) >= MaxDepth:
			return false
		default:
			s.open = append(s.open, t.Name)
		}
	}
	return false
}

// endTagLen returns the length of the end tag </name> (white space allowed
// before '>') at the start of b, or 0.
func endTagLen(b []byte, name []byte) int {
	n := 2 + len(name)
	if len(b) < n+1 || !bytes.Equal(b[2:n], name) {
		return 0
	}
	n += spaceLen(b[n:])
	if n >= len(b) || b[n] != '>' {
		return 0
	}
	return n + 1
}

// textLen returns the length of the character data at the start of b, up
// to the next '<', or 0 when it is outside the subset.
func textLen(b []byte) int {
	i := 0
	for i < len(b) && b[i] != '<' {
		if isPlain(b[i]) && b[i] != ']' {
			i++
			continue
		}
		if b[i] == ']' && bytes.HasPrefix(b[i:], []byte("]]>")) {
			return 0
		}
		n := charLen(b[i:])
		if n == 0 {
			return 0
		}
		i += n
	}
	return i
}

// charLen returns the length of the character or reference at the start of
// b, or 0 when it is '<', not an XML character in UTF-8, or not a valid
// reference.
func charLen(b []byte) int {
	c := b[0]
	switch {
	case c == '&':
		return refLen(b)
	case c == '<':
		return 0
	case c >= 0x20 && c < utf8.RuneSelf:
		return 1
	case c == '\t' || c == '\n' || c == '\r':
		return 1
	case c < 0x20:
		return 0
	}
	r, n := utf8.DecodeRune(b)
	if r == utf8.RuneError || !isXMLChar(r) {
		return 0
	}
	return n
}

// isPlain reports a printable ASCII character that needs no further check
// in text or in an attribute value ('<' and '&' do).
func isPlain(c byte) bool {
	return c >= 0x20 && c < utf8.RuneSelf && c != '<' && c != '&'
}

// refLen returns the length of the reference at the start of b ('&'), or 0
// when it is not one of the predefined entities or a character reference to
// an XML character.
func refLen(b []byte) int {
	end := bytes.IndexByte(b[:min(len(b), 12)], ';')
	if end < 2 {
		return 0
	}
	name := b[1:end]
	switch string(name) {
	case "lt", "gt", "amp", "quot", "apos":
		return end + 1
	}
	if name[0] != '#' || len(name) < 2 {
		return 0
	}
	digits, base := name[1:], rune(10)
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 || len(digits) > 8 {
		return 0
	}
	var r rune
	for _, d := range digits {
		var v rune
		switch {
		case d >= '0' && d <= '9':
			v = rune(d - '0')
		case base == 16 && d >= 'a' && d <= 'f':
			v = rune(d-'a') + 10
		case base == 16 && d >= 'A' && d <= 'F':
			v = rune(d-'A') + 10
		default:
			return 0
		}
		r = r*base + v
	}
	if !isXMLChar(r) {
		return 0
	}
	return end + 1
}

// isXMLChar reports a character XML 1.0 §2.2 allows.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// spaceLen returns the length of the white space at the start of b.
func spaceLen(b []byte) int {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// nameLen returns the length of the name at the start of b in the subset,
// or 0. An attribute name may carry the xml: prefix.
func nameLen(b []byte, attr bool) int {
	if attr && len(b) > 4 && string(b[:4]) == "xml:" {
		if n := nameLen(b[4:], false); n > 0 {
			return 4 + n
		}
		return 0
	}
	if len(b) == 0 || !isNameStart(b[0]) {
		return 0
	}
	i := 1
	for i < len(b) && (isNameStart(b[i]) || b[i] >= '0' && b[i] <= '9' || b[i] == '-' || b[i] == '.') {
		i++
	}
	return i
}

func isNameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}
