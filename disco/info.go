package disco

import (
	"encoding/xml"
	"io"
	"slices"

	"mellium.im/xmpp/disco/info"

	"github.com/mixpam/mixpam/internal/xmltok"
	"github.com/mixpam/mixpam/ns"
)

// Info is a disco#info result (XEP-0030 §3.1): what an entity says it is and
// supports, with its XEP-0128 extended information forms.
type Info struct {
	// Node is the query's node attribute.
	Node string
	// Identities are the <identity/> elements, in document order.
	Identities []info.Identity
	// Features are the var attributes of the <feature/> elements, in
	// document order.
	Features []string
	// Forms are the XEP-0128 data forms (<x xmlns='jabber:x:data'/>).
	Forms []Form
}

// Form is an XEP-0128 extended service discovery information form.
type Form struct {
	// Fields are the form's fields in document order, FORM_TYPE included.
	Fields []Field
}

// Field is one field of a Form.
type Field struct {
	// Var is the field's var attribute.
	Var string
	// Type is the field's type attribute ("hidden" for a proper FORM_TYPE).
	Type string
	// Values are the character data of the field's <value/> elements.
	Values []string
}

// HasFeature reports whether i lists the feature v.
func (i Info) HasFeature(v string) bool {
	return slices.Contains(i.Features, v)
}

// MIXCapable reports whether the client that answered i supports MIX: it
// lists the urn:xmpp:mix:core:1 feature (XEP-0369 §6.7 "Discovering Client MIX
// Capability", XEP-0405 §2.1).
func (i Info) MIXCapable() bool {
	return i.HasFeature(ns.MIXCore)
}

// ParseInfo reads a disco#info <query/> element: the first element of r, after
// any character data. It reads r up to the query's end element and no
// further. Unknown children are skipped; an identity, feature or field
// without attributes is kept with empty strings (VerificationString judges
// whether the result is well-formed). ParseInfo returns ErrNoQuery if the
// first element is something else or r holds no element, and the reader's
// error (io.ErrUnexpectedEOF for a truncated query) if the XML is broken.
func ParseInfo(r xml.TokenReader) (Info, error) {
	t := newTokens(r)
	start, ok, err := t.element()
	switch {
	case err == io.EOF || err == nil && !ok:
		return Info{}, ErrNoQuery
	case err != nil:
		return Info{}, err
	case start.Name != xml.Name{Space: nsInfo, Local: "query"}:
		return Info{}, ErrNoQuery
	}
	inf := Info{Node: xmltok.AttrValue(start, "node")}
	for {
		child, ok, err := t.element()
		if err != nil {
			return Info{}, unexpectedEOF(err)
		}
		if !ok {
			return inf, nil
		}
		switch child.Name {
		case xml.Name{Space: nsInfo, Local: "identity"}:
			inf.Identities = append(inf.Identities, info.Identity{
				Category: xmltok.AttrValue(child, "category"),
				Type:     xmltok.AttrValue(child, "type"),
				Name:     xmltok.AttrValue(child, "name"),
				Lang:     lang(child),
			})
			err = t.skip()
		case xml.Name{Space: nsInfo, Local: "feature"}:
			inf.Features = append(inf.Features, xmltok.AttrValue(child, "var"))
			err = t.skip()
		case xml.Name{Space: nsData, Local: "x"}:
			var f Form
			f, err = parseForm(t)
			inf.Forms = append(inf.Forms, f)
		default:
			err = t.skip()
		}
		if err != nil {
			return Info{}, err
		}
	}
}

// parseForm reads the fields of a data form whose start element was just
// read, consuming the form.
func parseForm(t *tokens) (Form, error) {
	var f Form
	for {
		child, ok, err := t.element()
		if err != nil {
			return Form{}, unexpectedEOF(err)
		}
		if !ok {
			return f, nil
		}
		if child.Name != (xml.Name{Space: nsData, Local: "field"}) {
			if err := t.skip(); err != nil {
				return Form{}, err
			}
			continue
		}
		field, err := parseField(t, child)
		if err != nil {
			return Form{}, err
		}
		f.Fields = append(f.Fields, field)
	}
}

// parseField reads the values of the field whose start element was just
// read, consuming the field.
func parseField(t *tokens, start xml.StartElement) (Field, error) {
	field := Field{Var: xmltok.AttrValue(start, "var"), Type: xmltok.AttrValue(start, "type")}
	for {
		child, ok, err := t.element()
		if err != nil {
			return Field{}, unexpectedEOF(err)
		}
		if !ok {
			return field, nil
		}
		if child.Name != (xml.Name{Space: nsData, Local: "value"}) {
			if err := t.skip(); err != nil {
				return Field{}, err
			}
			continue
		}
		v, err := t.text()
		if err != nil {
			return Field{}, err
		}
		field.Values = append(field.Values, v)
	}
}
