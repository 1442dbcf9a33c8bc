// Package xmltok reads the small pieces of untrusted XML token streams that
// every mixpam parser needs: an attribute, an element's namespace, the rest
// of an element to skip, an element's text. Tokens may come from an
// xml.Decoder (namespaces resolved into Name.Space) or be built by hand, as
// mellium builds them (namespaces declared with an xmlns attribute), so each
// helper understands both.
//
// The helpers never recurse and bound what they keep, so hostile nesting or
// length costs neither stack nor memory.
package xmltok

import (
	"encoding/xml"
	"errors"
	"io"
)

// Errors of Text.
var (
	// ErrChild reports an element inside an element whose content must be
	// text only.
	ErrChild = errors.New("xmltok: element inside a text-only element")
	// ErrTooLong reports text longer than the limit given to Text.
	ErrTooLong = errors.New("xmltok: text too long")
)

// Attr returns the value of start's attribute local in no namespace, and
// whether start has one. The first of repeated attributes counts.
func Attr(start xml.StartElement, local string) (string, bool) {
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

// AttrValue is Attr's value alone: empty when start has no such attribute.
func AttrValue(start xml.StartElement, local string) string {
	v, _ := Attr(start, local)
	return v
}

// Space returns the namespace of the element start whose parent is in
// namespace parent: Name.Space when a decoder resolved it, else the value of
// its xmlns attribute when it has one, else parent (the default namespace
// is inherited).
func Space(start xml.StartElement, parent string) string {
	if start.Name.Space != "" {
		return start.Name.Space
	}
	if v, ok := Attr(start, "xmlns"); ok {
		return v
	}
	return parent
}

// Skip reads the rest of the element whose start element was just read from
// r, its end element included. The end of r before it is
// io.ErrUnexpectedEOF.
func Skip(r xml.TokenReader) error {
	for depth := 1; depth > 0; {
		tok, err := r.Token()
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
		if depth > 0 && err != nil {
			return unexpectedEOF(err)
		}
		if tok == nil && err == nil {
			return io.ErrNoProgress
		}
	}
	return nil
}

// Text reads the rest of the element whose start element was just read from
// r, its end element included, and returns its character data. It always
// reads to the end of the element, so that the caller can refuse the value
// and go on, but keeps at most max bytes: longer text returns those and
// ErrTooLong. Child elements are skipped and return ErrChild, unless the
// text is too long too, so that a caller that tolerates children never
// takes a cut value for a whole one. The end of r before the element's end
// is io.ErrUnexpectedEOF.
func Text(r xml.TokenReader, max int) (string, error) {
	var text []byte
	long, child := false, false
	for {
		tok, err := r.Token()
		switch t := tok.(type) {
		case xml.CharData:
			n := min(len(t), max-len(text))
			text = append(text, t[:n]...)
			long = long || n < len(t)
		case xml.StartElement:
			child = true
			if err := Skip(r); err != nil {
				return "", err
			}
			continue
		case xml.EndElement:
			switch {
			case long:
				return string(text), ErrTooLong
			case child:
				return string(text), ErrChild
			}
			return string(text), nil
		}
		if err != nil {
			return "", unexpectedEOF(err)
		}
		if tok == nil {
			return "", io.ErrNoProgress
		}
	}
}

// unexpectedEOF reports the end of a stream inside an element as
// io.ErrUnexpectedEOF.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
