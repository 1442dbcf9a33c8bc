package archive

import (
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"mellium.im/xmpp/form"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/paging"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/rawstanza"
	"github.com/mixpam/mixpam/internal/xmltok"
)

// maxMAMValue bounds the text of one form value or RSM element: the longest
// JID is 3071 bytes (RFC 7622 §3.1), and ids and timestamps are far shorter.
const maxMAMValue = 3071

// maxMAMIDs bounds the values of the ids field: more ids than the largest
// page could return are refused (policy-violation), so that a query costs
// at most one page's worth of lookups.
const maxMAMIDs = DefaultMaxPageSize

// mamQuery is a parsed XEP-0313 query.
type mamQuery struct {
	// queryID is the client's queryid, echoed in every result.
	queryID string
	// query selects the page; Max is still the client's (-1 when absent).
	query Query
	// flip asks for the page's results newest first (XEP-0313 §4.3.3
	// <flip-page/>).
	flip bool
	// noGroupchat is include-groupchat set to false (XEP-0313 §4.1.4).
	noGroupchat bool
}

// parseMAMQuery parses the <query xmlns='urn:xmpp:mam:2'/> element whose
// start is start and whose content and end element r yields; it reads r up
// to that end element and no further. It accepts the fields of XEP-0313
// §4.1 (FORM_TYPE, with, start, end, and those of urn:xmpp:mam:2#extended:
// before-id, after-id, ids), include-groupchat (§4.1.4), <flip-page/>
// (§4.3.3), and RSM max, after and before (XEP-0059 §2, with an empty
// <before/> for the last page). The error is a stanza.Error: bad-request for
// anything malformed, policy-violation for more than maxMAMIDs ids,
// feature-not-implemented for what is well-formed but not supported (other
// form fields, as §4.1.5 requires; RSM <index/>; a full JID in with;
// pubsub's node).
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
			switch name := (xml.Name{Space: xmltok.Space(t, ""), Local: t.Name.Local}); name {
			case xml.Name{Space: form.NS, Local: "x"}:
				if seenForm {
					return mamQuery{}, mamBadRequest("the query has two data forms")
				}
				seenForm = true
				err = parseMAMForm(t, r, &q)
			case xml.Name{Space: paging.NS, Local: "set"}:
				if seenSet {
					return mamQuery{}, mamBadRequest("the query has two RSM sets")
				}
				seenSet = true
				err = parseMAMSet(r, &q.query)
			case xml.Name{Space: NSMAM, Local: "flip-page"}:
				q.flip = true
				err = mamSkip(r)
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
	mamFieldFormType         = "FORM_TYPE"
	mamFieldWith             = "with"
	mamFieldStart            = "start"
	mamFieldEnd              = "end"
	mamFieldBeforeID         = "before-id"
	mamFieldAfterID          = "after-id"
	mamFieldIDs              = "ids"
	mamFieldIncludeGroupchat = "include-groupchat"
)

// parseMAMForm parses a XEP-0004 submit form (start is its <x/>) into q.
func parseMAMForm(start xml.StartElement, r xml.TokenReader, q *mamQuery) error {
	if typ, _ := xmltok.Attr(start, "type"); typ != "submit" {
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
			if t.Name.Local != "field" || xmltok.Space(t, "") != form.NS {
				// <title/>, <instructions/>, or an extension.
				if err := mamSkip(r); err != nil {
					return err
				}
				continue
			}
			name, ok := xmltok.Attr(t, "var")
			if !ok {
				return mamBadRequest("a form field has no var")
			}
			if seen[name] {
				return mamBadRequest("the form has two " + strconv.Quote(name) + " fields")
			}
			seen[name] = true
			switch name {
			case mamFieldFormType, mamFieldWith, mamFieldStart, mamFieldEnd,
				mamFieldBeforeID, mamFieldAfterID, mamFieldIDs, mamFieldIncludeGroupchat:
			default:
				return mamNotImplemented("unsupported form field " + strconv.Quote(name))
			}
			values, err := readMAMFieldValues(r, name)
			if err != nil {
				return err
			}
			if len(values) == 0 {
				continue
			}
			if err := setMAMField(q, name, values); err != nil {
				return err
			}
		}
	}
}

// setMAMField applies one field of a query form, with its values (at least
// one; more only for ids), to q.
func setMAMField(mq *mamQuery, name string, values []string) error {
	q, value := &mq.query, values[0]
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
	case mamFieldAfterID, mamFieldBeforeID:
		if value == "" {
			return mamBadRequest(name + " is empty")
		}
		if name == mamFieldAfterID {
			q.AfterID = value
		} else {
			q.BeforeID = value
		}
	case mamFieldIDs:
		if slices.Contains(values, "") {
			return mamBadRequest("ids has an empty value")
		}
		q.IDs = values
	case mamFieldIncludeGroupchat:
		include, err := parseXSBoolean(value)
		if err != nil {
			return err
		}
		mq.noGroupchat = !include
	}
	return nil
}

// parseXSBoolean parses a XEP-0004 boolean field value (xs:boolean).
func parseXSBoolean(value string) (bool, error) {
	switch strings.TrimSpace(value) {
	case "1", "true":
		return true, nil
	case "0", "false":
		return false, nil
	}
	return false, mamBadRequest("include-groupchat is not a boolean")
}

// readMAMFieldValues reads the children of a <field/> up to its end element
// and returns its values. A field without a value is as if absent (none);
// more than one is bad-request except for ids, the one multi field, which
// may have up to maxMAMIDs.
func readMAMFieldValues(r xml.TokenReader, name string) ([]string, error) {
	var values []string
	for {
		tok, err := r.Token()
		if tok == nil {
			return nil, mamReadError(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return values, nil
		case xml.StartElement:
			if t.Name.Local != "value" || xmltok.Space(t, "") != form.NS {
				if err := mamSkip(r); err != nil {
					return nil, err
				}
				continue
			}
			switch {
			case len(values) == 1 && name != mamFieldIDs:
				return nil, mamBadRequest("the " + strconv.Quote(name) + " field has more than one value")
			case len(values) == maxMAMIDs:
				return nil, rawstanza.Error(stanza.Modify, stanza.PolicyViolation,
					"ids has more than "+strconv.Itoa(maxMAMIDs)+" values")
			}
			value, err := readMAMText(r)
			if err != nil {
				return nil, err
			}
			values = append(values, value)
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
			if xmltok.Space(t, "") != paging.NS {
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

// readMAMText reads the text of the element whose start was just read,
// which must have no child elements.
func readMAMText(r xml.TokenReader) (string, error) {
	v, err := xmltok.Text(r, maxMAMValue)
	switch {
	case errors.Is(err, xmltok.ErrChild):
		return "", mamBadRequest("an element inside a value")
	case errors.Is(err, xmltok.ErrTooLong):
		return "", mamBadRequest("a value is too long")
	case err != nil:
		return "", mamReadError(err)
	}
	return v, nil
}

// mamSkip reads up to the end of the element whose start was just read.
func mamSkip(r xml.TokenReader) error {
	if err := xmltok.Skip(r); err != nil {
		return mamReadError(err)
	}
	return nil
}

// mamReadError is the answer to a query that could not be read to its end:
// a token stream that ended early or is not XML.
func mamReadError(err error) error {
	if err == nil || err == io.EOF || err == io.ErrUnexpectedEOF {
		return mamBadRequest("the query ends before its end element")
	}
	return mamBadRequest("the query is not well-formed XML")
}

func mamBadRequest(text string) stanza.Error {
	return rawstanza.Error(stanza.Modify, stanza.BadRequest, text)
}

func mamNotImplemented(text string) stanza.Error {
	return rawstanza.Error(stanza.Cancel, stanza.FeatureNotImplemented, text)
}
