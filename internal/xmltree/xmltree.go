// Package xmltree turns serialised XML into a canonical list of events, so
// that tests can compare two serialisations of one tree, and reject output
// that encoding/xml's Decoder accepts but other parsers do not: an attribute
// (or namespace declaration) written twice, a name that is not a QName.
package xmltree

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Events parses raw as the content of an element whose default namespace is
// scope and returns its events and its number of top-level elements. Events
// are "<{namespace}local" for a start element, its attributes as Attr writes
// them sorted, namespace declarations left out, "text" with adjacent
// character data merged, and "/" for an end element.
func Events(raw []byte, scope string) (events []string, topLevel int, err error) {
	if err := checkRawNames(raw, scope); err != nil {
		return nil, 0, err
	}
	d := xml.NewDecoder(Wrap(raw, scope))
	if _, err := d.Token(); err != nil { // the wrapper
		return nil, 0, err
	}
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			events = append(events, "text "+strconv.Quote(text.String()))
			text.Reset()
		}
	}
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, 0, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			flush()
			if depth == 0 {
				topLevel++
			}
			depth++
			events = append(append(events, "<{"+t.Name.Space+"}"+t.Name.Local), Attrs(t.Attr)...)
		case xml.EndElement:
			flush()
			if depth == 0 { // the wrapper
				if _, err := d.Token(); err != io.EOF {
					return nil, 0, fmt.Errorf("data after the content: %v", err)
				}
				return events, topLevel, nil
			}
			depth--
			events = append(events, "/")
		case xml.CharData:
			text.Write(t)
		default:
			return nil, 0, fmt.Errorf("content holds a %T", tok)
		}
	}
}

// Attrs returns the events of an element's attributes, sorted, without
// namespace declarations, as Events writes them.
func Attrs(attrs []xml.Attr) []string {
	var out []string
	for _, a := range attrs {
		if !IsDeclaration(a.Name) {
			out = append(out, "@{"+a.Name.Space+"}"+a.Name.Local+"="+strconv.Quote(a.Value))
		}
	}
	slices.Sort(out)
	return out
}

// IsDeclaration reports whether n, as the Decoder names attributes, is a
// namespace declaration.
func IsDeclaration(n xml.Name) bool {
	return n.Space == "xmlns" || n.Space == "" && n.Local == "xmlns"
}

// Wrap returns raw inside an element whose default namespace is scope.
func Wrap(raw []byte, scope string) io.Reader {
	return io.MultiReader(strings.NewReader(`<wrapper xmlns="`+scope+`">`), bytes.NewReader(raw), strings.NewReader(`</wrapper>`))
}

// checkRawNames fails when an element of raw has two attributes with the
// same qualified name, or a name whose prefix or local part is not an
// NCName.
func checkRawNames(raw []byte, scope string) error {
	d := xml.NewDecoder(Wrap(raw, scope))
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if !isQName(start.Name) {
			return fmt.Errorf("element name %s:%s is not a QName", start.Name.Space, start.Name.Local)
		}
		seen := make(map[xml.Name]bool, len(start.Attr))
		for _, a := range start.Attr {
			if seen[a.Name] {
				return fmt.Errorf("<%s> has attribute %s:%s twice", start.Name.Local, a.Name.Space, a.Name.Local)
			}
			seen[a.Name] = true
			if !isQName(a.Name) {
				return fmt.Errorf("<%s> has attribute name %s:%s, not a QName", start.Name.Local, a.Name.Space, a.Name.Local)
			}
		}
	}
}

// isQName is a loose check that n, as RawToken splits it, is prefix:local
// or local with NCName parts: no colon left, and no part starting with what
// only a NameChar may start with. encoding/xml checked the rest.
func isQName(n xml.Name) bool {
	ncName := func(s string) bool {
		if s == "" || strings.Contains(s, ":") {
			return false
		}
		r, _ := utf8.DecodeRuneInString(s)
		return !unicode.IsDigit(r) && r != '-' && r != '.' && r != 0xB7 &&
			!unicode.In(r, unicode.Mn, unicode.Mc) && r != 0x203F && r != 0x2040
	}
	return ncName(n.Local) && (n.Space == "" || ncName(n.Space))
}
