// Package xmlenc serialises XML token streams to bytes.
//
// encoding/xml's Encoder, fed the tokens of a Decoder, writes every namespace
// twice (once from Name.Space, once from the xmlns attribute the decoder keeps),
// which is not well-formed. Append writes each namespace declaration once,
// only where the namespace in scope changes, drops comments, processing
// instructions and directives (RFC 6120 §11.1 forbids them in streams), and
// replaces characters XML 1.0 cannot carry with U+FFFD.
//
// EncoderTokens goes the other way, from bytes to tokens an Encoder writes
// correctly; Guard makes an untrusted token reader safe to loop over.
package xmlenc

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	xmlURL   = "http://www.w3.org/XML/1998/namespace"
	xmlnsKey = "xmlns"
)

// ErrUnbalanced is returned for an end element with no matching start
// element.
var ErrUnbalanced = errors.New("xmlenc: unbalanced end element")

// ErrInvalidName is returned for an element or attribute whose local name
// cannot be written in namespace-well-formed XML: not an NCName (XML
// Namespaces 1.0 §3). encoding/xml's Decoder accepts some, such as <p:0/>
// or <a:b:c/>.
var ErrInvalidName = errors.New("xmlenc: local name is not an XML NCName")

// Append reads r to io.EOF and appends its serialisation to dst. scope is the
// default namespace in force where the output will be placed (for a stanza
// written into a client stream, "jabber:client"); elements in that namespace
// get no xmlns attribute. A nil r is empty; a reader that returns neither a
// token nor an error fails with io.ErrNoProgress, as with Guard.
//
// Top-level elements whose namespace is a stanza namespace (jabber:client,
// jabber:server, jabber:component:accept) are written without a namespace
// declaration, so a stanza captured from any kind of stream can be written
// into any other.
//
// Tokens may come from an xml.Decoder, which resolves every name (an empty
// Name.Space is no namespace), or be built as encoding/xml's Encoder reads
// them, as mellium's packages build them: an element with an empty
// Name.Space and no xmlns attribute is in the default namespace of its
// parent. Append tells the two apart by following the default namespace as
// the input declares it (see resolve). Attributes that would be written
// under the same name twice, which the Decoder does not reject, are written
// once, keeping the first.
func Append(dst []byte, r xml.TokenReader, scope string) ([]byte, error) {
	in := guard(r)
	// A constant capacity keeps the stack of a usual stanza off the heap.
	stack := make([]frame, 1, 16)
	stack[0] = frame{space: scope}
	var prefixed bindings
	for {
		tok, err := in.Token()
		if tok != nil {
			switch t := tok.(type) {
			case xml.StartElement:
				if err := checkNames(t); err != nil {
					return dst, err
				}
				parent := stack[len(stack)-1]
				f := frame{local: t.Name.Local, bound: len(prefixed.stack)}
				for _, a := range t.Attr {
					if a.Name.Space == xmlnsKey {
						prefixed.push(a.Value)
					}
				}
				f.space, f.def = resolve(t, parent.def, &prefixed)
				declare := f.space != parent.space
				if len(stack) == 1 && isStanzaNS(f.space) {
					// Keep the stanza's children in its own namespace without
					// declaring it: see the function comment.
					declare = false
				}
				dst = appendStart(dst, t, f.space, declare)
				stack = append(stack, f)
			case xml.EndElement:
				top := stack[len(stack)-1]
				if len(stack) == 1 || t.Name.Local != top.local {
					return dst, ErrUnbalanced
				}
				stack = stack[:len(stack)-1]
				prefixed.popTo(top.bound)
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

// frame is an open element.
type frame struct {
	local string // local name, to check the end element
	space string // namespace the element is written in
	def   string // default namespace in force inside it, in the input
	bound int    // number of prefixed namespaces bound outside it
}

// bindings are the namespaces bound to prefixes in the input by the
// xmlns:prefix attributes of the open elements.
type bindings struct {
	stack []string       // innermost last
	count map[string]int // occurrences in stack; nil while stack is empty
}

func (b *bindings) push(space string) {
	if b.count == nil {
		b.count = make(map[string]int)
	}
	b.stack = append(b.stack, space)
	b.count[space]++
}

// popTo unbinds the namespaces bound after the first n.
func (b *bindings) popTo(n int) {
	for _, space := range b.stack[n:] {
		b.count[space]--
	}
	b.stack = b.stack[:n]
}

func (b *bindings) has(space string) bool { return b.count[space] > 0 }

// resolve returns the namespace of the element t and the default namespace
// in force inside it, given the default namespace def in force around it (as
// the input declares it) and the namespaces bound to prefixes in scope,
// including t's own.
//
// An element with an empty Name.Space and no xmlns attribute is in def: a
// built token inherits its parent's namespace, and for a Decoder's token def
// is empty, because the Decoder would have resolved the name otherwise. The
// one exception is an element whose prefix is bound to the empty namespace
// (xmlns:p="", not allowed by XML Namespaces but accepted by the Decoder):
// the Decoder gives it an empty Name.Space, so when such a binding is in
// scope an empty Name.Space stays empty.
//
// An element with a Name.Space declares the default namespace, as
// encoding/xml's Encoder writes it, unless its name came from a prefix: its
// namespace is bound to a prefix in scope, is the xml namespace, or has no
// colon (a prefix the Decoder could not resolve, left as is; namespace
// names are URIs and have one).
func resolve(t xml.StartElement, def string, prefixed *bindings) (space, inner string) {
	for _, a := range t.Attr {
		if a.Name.Space == "" && a.Name.Local == xmlnsKey {
			if t.Name.Space != "" {
				return t.Name.Space, a.Value
			}
			return a.Value, a.Value
		}
	}
	space = t.Name.Space
	switch {
	case space == "" && prefixed.has(""):
		return "", def
	case space == "":
		return def, def
	case space == def, space == xmlURL, !strings.Contains(space, ":"), prefixed.has(space):
		return space, def
	}
	return space, space
}

// checkNames reports an element or attribute name of t that Append cannot
// write. Namespace declarations are not written as they are, so any name
// does for them.
func checkNames(t xml.StartElement) error {
	if !isNCName(t.Name.Local) {
		return fmt.Errorf("%w: element %q", ErrInvalidName, t.Name.Local)
	}
	for _, a := range t.Attr {
		if !isDeclaration(a.Name) && !isNCName(a.Name.Local) {
			return fmt.Errorf("%w: attribute %q", ErrInvalidName, a.Name.Local)
		}
	}
	return nil
}

// isNCName reports whether s is an XML Namespaces NCName: an XML 1.0 (fifth
// edition) Name without a colon.
func isNCName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r < utf8.RuneSelf {
			c := byte(r)
			switch {
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_':
			case i > 0 && ('0' <= c && c <= '9' || c == '-' || c == '.'):
			default:
				return false
			}
			continue
		}
		if !isNameStartChar(r) && (i == 0 || !isNameChar(r)) {
			return false
		}
	}
	return true
}

// isNameStartChar is XML 1.0 (fifth edition) NameStartChar, for r beyond
// ASCII.
func isNameStartChar(r rune) bool {
	return r >= 0xC0 && r <= 0xD6 || r >= 0xD8 && r <= 0xF6 || r >= 0xF8 && r <= 0x2FF ||
		r >= 0x370 && r <= 0x37D || r >= 0x37F && r <= 0x1FFF || r >= 0x200C && r <= 0x200D ||
		r >= 0x2070 && r <= 0x218F || r >= 0x2C00 && r <= 0x2FEF || r >= 0x3001 && r <= 0xD7FF ||
		r >= 0xF900 && r <= 0xFDCF || r >= 0xFDF0 && r <= 0xFFFD || r >= 0x10000 && r <= 0xEFFFF
}

// isNameChar is what XML 1.0 (fifth edition) NameChar adds to
// NameStartChar beyond ASCII.
func isNameChar(r rune) bool {
	return r == 0xB7 || r >= 0x300 && r <= 0x36F || r >= 0x203F && r <= 0x2040
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

func appendStart(dst []byte, t xml.StartElement, space string, declare bool) []byte {
	dst = append(dst, '<')
	dst = append(dst, t.Name.Local...)
	if declare {
		dst = appendAttr(dst, "", xmlnsKey, space)
	}
	var seen map[xml.Name]bool
	if len(t.Attr) > manyAttrs {
		seen = make(map[xml.Name]bool, len(t.Attr))
	}
	prefixes := 0
	for i, a := range t.Attr {
		if isDeclaration(a.Name) {
			// Namespace declarations are regenerated above.
			continue
		}
		if repeated(t.Attr[:i], attrName(a.Name), seen) {
			// Keep the first of repeated attributes: see Append.
			continue
		}
		switch a.Name.Space {
		case "":
			dst = appendAttr(dst, "", a.Name.Local, a.Value)
		case xmlURL, "xml":
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

// manyAttrs is the number of attributes above which appendStart finds
// repeated attributes with a map rather than by comparing every pair, so
// that a hostile element with thousands of attributes costs linear time.
const manyAttrs = 16

func isDeclaration(n xml.Name) bool {
	return n.Space == xmlnsKey || n.Space == "" && n.Local == xmlnsKey
}

// repeated reports whether an attribute written under the name n was
// already written: one of before, or, when seen is not nil, one recorded in
// seen (where it records n).
func repeated(before []xml.Attr, n xml.Name, seen map[xml.Name]bool) bool {
	if seen != nil {
		if seen[n] {
			return true
		}
		seen[n] = true
		return false
	}
	for _, b := range before {
		if !isDeclaration(b.Name) && attrName(b.Name) == n {
			return true
		}
	}
	return false
}

// attrName is the name an attribute is written under: the xml prefix and
// the xml namespace are one.
func attrName(n xml.Name) xml.Name {
	if n.Space == "xml" {
		n.Space = xmlURL
	}
	return n
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
		// Fast path: printable ASCII other than the markup characters needs
		// neither decoding nor escaping, and is nearly all of a stanza.
		if c := s[i]; c >= 0x20 && c < utf8.RuneSelf && c != '&' && c != '<' && c != '>' && c != '"' {
			i++
			continue
		}
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
