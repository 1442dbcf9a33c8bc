package hosttest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// stanzaTree parses raw, one stanza as it would be written into a client
// stream (default namespace jabber:client), and returns its tree as a list
// of events that compare equal for equal stanzas: elements with their
// namespaces, attributes sorted, namespace declarations left out, adjacent
// character data merged. It fails when raw is not one well-formed element,
// including when an element repeats an attribute, which encoding/xml's
// Decoder does not reject but other parsers do.
func stanzaTree(raw []byte) ([]string, error) {
	if err := checkAttributesOnce(raw); err != nil {
		return nil, err
	}
	d := xml.NewDecoder(inClientStream(raw))
	if _, err := d.Token(); err != nil {
		return nil, err
	}
	var events []string
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			events = append(events, "text "+strconv.Quote(text.String()))
			text.Reset()
		}
	}
	depth, elements := 0, 0
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			flush()
			if depth == 0 {
				elements++
			}
			depth++
			var attrs []string
			for _, a := range t.Attr {
				if a.Name.Space != "xmlns" && (a.Name.Space != "" || a.Name.Local != "xmlns") {
					attrs = append(attrs, "@{"+a.Name.Space+"}"+a.Name.Local+"="+strconv.Quote(a.Value))
				}
			}
			slices.Sort(attrs)
			events = append(append(events, "<{"+t.Name.Space+"}"+t.Name.Local), attrs...)
		case xml.EndElement:
			flush()
			if depth == 0 { // the wrapper
				if elements != 1 {
					return nil, fmt.Errorf("%d top-level elements, want one stanza", elements)
				}
				if _, err := d.Token(); err != io.EOF {
					return nil, fmt.Errorf("data after the stanza")
				}
				return events, nil
			}
			depth--
			events = append(events, "/")
		case xml.CharData:
			text.Write(t)
		default:
			return nil, fmt.Errorf("stanza holds a %T", tok)
		}
	}
}

func inClientStream(raw []byte) io.Reader {
	return io.MultiReader(strings.NewReader(`<stream xmlns="jabber:client">`), bytes.NewReader(raw), strings.NewReader(`</stream>`))
}

// checkAttributesOnce fails when an element of raw has two attributes with
// the same qualified name.
func checkAttributesOnce(raw []byte) error {
	d := xml.NewDecoder(inClientStream(raw))
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if start, ok := tok.(xml.StartElement); ok {
			seen := make(map[xml.Name]bool, len(start.Attr))
			for _, a := range start.Attr {
				if seen[a.Name] {
					return fmt.Errorf("<%s> has attribute %s twice", start.Name.Local, qualified(a.Name))
				}
				seen[a.Name] = true
			}
		}
	}
}

func qualified(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}
