package archive

import (
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/form"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/paging"
	"mellium.im/xmpp/stanza"
)

// maxMAMValue bounds the text of one form value or RSM element: the longest
// JID is 3071 bytes (RFC 7622 §3.1), and ids and timestamps are far shorter.
const maxMAMValue = 3071

// mamQuery is a parsed XEP-0313 query.
type mamQuery struct {
	// queryID is the client's queryid, echoed in every result.
	queryID string
	// query selects the page; Max is still the client's (-1 when absent).
	query Query
}

// parseMAMQuery parses the <query xmlns='urn:xmpp:mam:2'/> element whose
// start is start and whose content and end element r yields; it reads r up
// to that end element and no further. It accepts the fields every MAM server
// must support (XEP-0313 §4.1: FORM_TYPE, with, start, end) and RSM max,
// after and before (XEP-0059 §2, with an empty <before/> for the last page).
// The error is a stanza.Error: bad-request for anything malformed,
// feature-not-implemented for what is well-formed but not supported (other
// form fields, as §4.1.5 requires; <flip-page/>; RSM <index/>; a full JID
// in with; pubsub's node).
func parseMAMQuery(start xml.StartElement, r xml.TokenReader) (mamQuery, error) {
	q := mamQuery{query: Query{Max: -1}}
	var seenQueryID bool
	for _, a := range start.Attr {
		switch {
		case a.Name.Space != "":
		case a.Name.Local == "queryid":
			if seenQueryID {
				return mamQuery{}, mamBadRequest("the query has two queryid attributes")
			}
			q.queryID, seenQueryID = a.Value, true
		case a.Name.Local == "node":
			return mamQuery{}, mamNotImplemented("pubsub archives (node) are not supported")
		}
	}
	var seenForm, seenSet bool
	for {
		tok, err := r.Token()
		if tok == nil {
			return mamQuery{}, mamReadError(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return q, nil
		case xml.StartElement:
			switch name := (xml.Name{Space: mamElementSpace(t), Local: t.Name.Local}); name {
			case xml.Name{Space: form.NS, Local: "x"}:
				if seenForm {
					return mamQuery{}, mamBadRequest("the query has two data forms")
				}
				seenForm = true
				err = parseMAMForm(t, r, &q.query)
			case xml.Name{Space: paging.NS, Local: "set"}:
				if seenSet {
					return mamQuery{}, mamBadRequest("the query has two RSM sets")
				}
				seenSet = true
				err = parseMAMSet(r, &q.query)
			case xml.Name{Space: NSMAM, Local: "flip-page"}:
				return mamQuery{}, mamNotImplemented("flipped pages are not supported (no urn:xmpp:mam:2#extended)")
			default:
				// Unknown extensions are ignored.
				err = mamSkip(r)
			}
			if err != nil {
				return mamQuery{}, err
			}
		}
	}
}

// mamFields are the form fields parseMAMForm knows.
const (
	mamFieldFormType = "FORM_TYPE"
	mamFieldWith     = "with"
	mamFieldStart    = "start"
	mamFieldEnd      = "end"
)

// parseMAMForm parses a XEP-0004 submit form (start is its <x/>) into q.
func parseMAMForm(start xml.StartElement, r xml.TokenReader, q *Query) error {
	if typ, _ := mamAttr(start, "type"); typ != "submit" {
		return mamBadRequest("the query's data form must be of type submit")
	}
	seen := make(map[string]bool, 4)
	for {
		tok, err := r.Token()
		if tok == nil {
			return mamReadError(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			if t.Name.Local != "field" || mamElementSpace(t) != form.NS {
				// <title/>, <instructions/>, or an extension.
				if err := mamSkip(r); err != nil {
					return err
				}
				continue
			}
			name, ok := mamAttr(t, "var")
			if !ok {
				return mamBadRequest("a form field has no var")
			}
			if seen[name] {
				return mamBadRequest("the form has two " + strconv.Quote(name) + " fields")
			}
			seen[name] = true
			switch name {
			case mamFieldFormType, mamFieldWith, mamFieldStart, mamFieldEnd:
			default:
				return mamNotImplemented("unsupported form field " + strconv.Quote(name))
			}
			value, set, err := readMAMFieldValue(r, name)
			if err != nil {
				return err
			}
			if !set {
				continue
			}
			if err := setMAMField(q, name, value); err != nil {
				return err
			}
		}
	}
}

// setMAMField applies one field of a query form to q.
func setMAMField(q *Query, name, value string) error {
	switch name {
	case mamFieldFormType:
		if value != NSMAM {
			return mamBadRequest("the form's FORM_TYPE is not " + NSMAM)
		}
	case mamFieldWith:
		with, err := jid.Parse(value)
		if err != nil {
			return mamBadRequest("with is not a valid JID")
		}
		if with.Resourcepart() != "" {
			return mamNotImplemented("with must be a bare JID")
		}
		q.With = with
	case mamFieldStart, mamFieldEnd:
		t, err := time.Parse(time.RFC3339Nano, value)
		if err != nil {
			return mamBadRequest(name + " is not a XEP-0082 date and time")
		}
		if name == mamFieldStart {
			q.Start = t
		} else {
			q.End = t
		}
	}
	return nil
}

// readMAMFieldValue reads the children of a <field/> up to its end element
// and returns its one value. A field without a value is as if absent (set
// false); one with several is bad-request, as none of the fields is multi.
func readMAMFieldValue(r xml.TokenReader, name string) (value string, set bool, err error) {
	for {
		tok, err := r.Token()
		if tok == nil {
			return "", false, mamReadError(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return value, set, nil
		case xml.StartElement:
			if t.Name.Local != "value" || mamElementSpace(t) != form.NS {
				if err := mamSkip(r); err != nil {
					return "", false, err
				}
				continue
			}
			if set {
				return "", false, mamBadRequest("the " + strconv.Quote(name) + " field has more than one value")
			}
			if value, err = readMAMText(r); err != nil {
				return "", false, err
			}
			set = true
		}
	}
}

// parseMAMSet parses the children of an RSM <set/> up to its end element.
func parseMAMSet(r xml.TokenReader, q *Query) error {
	seen := make(map[string]bool, 3)
	for {
		tok, err := r.Token()
		if tok == nil {
			return mamReadError(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if q.After != "" && (q.Before != "" || q.Last) {
				return mamBadRequest("RSM after and before cannot be combined")
			}
			return nil
		case xml.StartElement:
			name := t.Name.Local
			if mamElementSpace(t) != paging.NS {
				if err := mamSkip(r); err != nil {
					return err
				}
				continue
			}
			if seen[name] {
				return mamBadRequest("the RSM set has two <" + name + "/> elements")
			}
			seen[name] = true
			switch name {
			case "max", "after", "before":
			case "index":
				return mamNotImplemented("RSM index is not supported")
			default:
				// <first/>, <last/>, <count/> have no meaning in a request.
				if err := mamSkip(r); err != nil {
					return err
				}
				continue
			}
			text, err := readMAMText(r)
			if err != nil {
				return err
			}
			switch name {
			case "max":
				n, err := strconv.ParseUint(strings.TrimSpace(text), 10, 31)
				if err != nil {
					return mamBadRequest("RSM max is not a non-negative integer")
				}
				q.Max = int(n)
			case "after":
				if text == "" {
					return mamBadRequest("RSM after is empty")
				}
				q.After = text
			case "before":
				q.Before, q.Last = text, text == ""
			}
		}
	}
}

// readMAMText reads character data up to the end of the current element,
// which must have no child elements.
func readMAMText(r xml.TokenReader) (string, error) {
	var b strings.Builder
	for {
		tok, err := r.Token()
		if tok == nil {
			return "", mamReadError(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return b.String(), nil
		case xml.StartElement:
			return "", mamBadRequest("unexpected <" + t.Name.Local + "/> in a value")
		case xml.CharData:
			if b.Len()+len(t) > maxMAMValue {
				return "", mamBadRequest("a value is too long")
			}
			b.Write(t)
		}
	}
}

// mamSkip reads up to the end of the element whose start was just read.
func mamSkip(r xml.TokenReader) error {
	if err := xmlstream.Skip(r); err != nil {
		return mamReadError(err)
	}
	return nil
}

// mamElementSpace is the namespace of an element, whether the token came
// from a Decoder (Name.Space set) or was built with an xmlns attribute.
func mamElementSpace(t xml.StartElement) string {
	if t.Name.Space != "" {
		return t.Name.Space
	}
	v, _ := mamAttr(t, "xmlns")
	return v
}

// mamAttr returns the value of the unqualified attribute local of start.
func mamAttr(start xml.StartElement, local string) (string, bool) {
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

// mamReadError is the answer to a query that could not be read to its end:
// a token stream that ended early or is not XML.
func mamReadError(err error) error {
	if err == nil || err == io.EOF {
		return mamBadRequest("the query ends before its end element")
	}
	return mamBadRequest("the query is not well-formed XML")
}

func mamBadRequest(text string) stanza.Error {
	return mamError(stanza.Modify, stanza.BadRequest, text)
}

func mamNotImplemented(text string) stanza.Error {
	return mamError(stanza.Cancel, stanza.FeatureNotImplemented, text)
}

func mamError(typ stanza.ErrorType, cond stanza.Condition, text string) stanza.Error {
	return stanza.Error{Type: typ, Condition: cond, Text: map[string]string{"": text}}
}
