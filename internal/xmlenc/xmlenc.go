// Package xmlenc serialises XML token streams to bytes.
//
// encoding/xml's Encoder, fed the tokens of a Decoder, writes every namespace
// twice (once from Name.Space, once from the xmlns attribute the decoder keeps),
// which is not well-formed. Append writes each namespace declaration once,
// only where the namespace in scope changes, drops comments, processing
// instructions and directives (RFC 6120 §11.1 forbids them in streams), and
// replaces characters XML 1.0 cannot carry with U+FFFD.
package xmlenc

import (
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"unicode/utf8"
)

const (
	xmlURL   = "http://www.w3.org/XML/1998/namespace"
	xmlnsKey = "xmlns"
)

// ErrUnbalanced is returned for an end element with no matching start element.
var ErrUnbalanced = errors.New("xmlenc: unbalanced end element")

// Append reads r to io.EOF and appends its serialisation to dst. scope is the
// default namespace in force where the output will be placed (for a stanza
// written into a client stream, "jabber:client"); elements in that namespace
// get no xmlns attribute.
//
// Top-level elements whose namespace is a stanza namespace (jabber:client,
// jabber:server, jabber:component:accept) are written without a namespace
// declaration, so a stanza captured from any kind of stream can be written
// into any other.
func Append(dst []byte, r xml.TokenReader, scope string) ([]byte, error) {
	// stack holds the default namespace in scope at each open element.
	var stack []string
	stack = append(stack, scope)
	for {
		tok, err := r.Token()
		if tok != nil {
			switch t := tok.(type) {
			case xml.StartElement:
				parent := stack[len(stack)-1]
				space := elementSpace(t)
				if len(stack) == 1 && isStanzaNS(space) {
					// Keep the stanza's children in its own namespace without
					// declaring it: see the function comment.
					dst = appendStart(dst, t, space, false)
				} else {
					dst = appendStart(dst, t, space, space != parent)
				}
				stack = append(stack, space)
			case xml.EndElement:
				if len(stack) == 1 {
					return dst, ErrUnbalanced
				}
				stack = stack[:len(stack)-1]
				dst = append(dst, "</"...)
				dst = append(dst, t.Name.Local...)
				dst = append(dst, '>')
			case xml.CharData:
				dst = appendEscaped(dst, t, false)
			}
		}
		if err == io.EOF {
			if len(stack) != 1 {
				return dst, io.ErrUnexpectedEOF
			}
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// Marshal is Append to a new slice.
func Marshal(r xml.TokenReader, scope string) ([]byte, error) {
	return Append(nil, r, scope)
}

func isStanzaNS(space string) bool {
	switch space {
	case "", "jabber:client", "jabber:server", "jabber:component:accept":
		return true
	}
	return false
}

// elementSpace is the namespace of an element, whether the token came from a
// Decoder (Name.Space set) or was built by hand with an xmlns attribute.
func elementSpace(t xml.StartElement) string {
	if t.Name.Space != "" {
		return t.Name.Space
	}
	for _, a := range t.Attr {
		if a.Name.Space == "" && a.Name.Local == xmlnsKey {
			return a.Value
		}
	}
	return ""
}

func appendStart(dst []byte, t xml.StartElement, space string, declare bool) []byte {
	dst = append(dst, '<')
	dst = append(dst, t.Name.Local...)
	if declare {
		dst = appendAttr(dst, "", xmlnsKey, space)
	}
	prefixes := 0
	for _, a := range t.Attr {
		switch {
		case a.Name.Space == "" && a.Name.Local == xmlnsKey, a.Name.Space == xmlnsKey:
			// Namespace declarations are regenerated above.
		case a.Name.Space == "":
			dst = appendAttr(dst, "", a.Name.Local, a.Value)
		case a.Name.Space == xmlURL || a.Name.Space == "xml":
			dst = appendAttr(dst, "xml", a.Name.Local, a.Value)
		default:
			prefixes++
			p := "ns" + strconv.Itoa(prefixes)
			dst = appendAttr(dst, xmlnsKey, p, a.Name.Space)
			dst = appendAttr(dst, p, a.Name.Local, a.Value)
		}
	}
	return append(dst, '>')
}

func appendAttr(dst []byte, prefix, local, value string) []byte {
	dst = append(dst, ' ')
	if prefix != "" {
		dst = append(dst, prefix...)
		dst = append(dst, ':')
	}
	dst = append(dst, local...)
	dst = append(dst, `="`...)
	dst = appendEscaped(dst, []byte(value), true)
	return append(dst, '"')
}

// AppendEscaped appends s escaped for use as character data (attr false) or
// as a double-quoted attribute value (attr true).
func AppendEscaped(dst []byte, s string, attr bool) []byte {
	return appendEscaped(dst, []byte(s), attr)
}

func appendEscaped(dst, s []byte, attr bool) []byte {
	last := 0
	for i := 0; i < len(s); {
		r, width := utf8.DecodeRune(s[i:])
		var esc string
		switch {
		case r == '&':
			esc = "&amp;"
		case r == '<':
			esc = "&lt;"
		case r == '>':
			esc = "&gt;"
		case r == '"' && attr:
			esc = "&quot;"
		case r == '\t' && attr:
			esc = "&#x9;"
		case r == '\n' && attr:
			esc = "&#xA;"
		case r == '\r':
			esc = "&#xD;"
		case !isXMLChar(r) || (r == utf8.RuneError && width == 1):
			esc = "\uFFFD"
		default:
			i += width
			continue
		}
		dst = append(dst, s[last:i]...)
		dst = append(dst, esc...)
		i += width
		last = i
	}
	return append(dst, s[last:]...)
}

// isXMLChar reports whether r is in the XML 1.0 Char production.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
