package blocking

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/rawstanza"
	"github.com/mixpam/mixpam/internal/xmltok"
)

// XEP-0191 namespaces (XEP-0191 §9.1).
const (
	// NS is the blocking command namespace, also advertised as a service
	// discovery feature (XEP-0191 §3.1).
	NS = "urn:xmpp:blocking"
	// NSErrors qualifies the <blocked/> application-specific error
	// condition (XEP-0191 §3.3).
	NSErrors = "urn:xmpp:blocking:errors"
)

// op is the operation a blocking command asks for.
type op uint8

const (
	opList    op = iota + 1 // <blocklist/> in an IQ get (XEP-0191 §3.2)
	opBlock                 // <block/> in an IQ set (§3.3)
	opUnblock               // <unblock/> in an IQ set (§3.4, §3.5 with no items)
)

// request is a parsed blocking command.
type request struct {
	op    op
	items []jid.JID
}

// parseRequest reads a blocking command, the payload of an IQ of type typ,
// from r to its end. r yields the IQ's children: the payload element from
// its start token to its end token. Any problem is reported as the stanza
// error to send back; nothing is half-parsed.
func parseRequest(typ stanza.IQType, r xml.TokenReader) (request, *stanza.Error) {
	req, serr := readRequest(typ, r)
	if serr != nil && r != nil {
		drain(r)
	}
	return req, serr
}

func readRequest(typ stanza.IQType, r xml.TokenReader) (request, *stanza.Error) {
	start, serr := payloadStart(r)
	if serr != nil {
		return request{}, serr
	}
	req, serr := requestOp(typ, start)
	if serr != nil {
		return request{}, serr
	}
	req.items, serr = readItems(r, req.op != opList)
	if serr != nil {
		return request{}, serr
	}
	if req.op == opBlock && len(req.items) == 0 {
		return request{}, badRequest("a <block/> command must contain at least one <item/>")
	}
	if serr := noMorePayload(r); serr != nil {
		return request{}, serr
	}
	return req, nil
}

// drain reads r to its end, so that a refused command leaves no tokens
// behind for the host.
func drain(r xml.TokenReader) {
	for {
		if _, err := next(r); err != nil {
			return
		}
	}
}

// payloadStart returns the start of the IQ's payload element, skipping
// whitespace, comments and other tokens that are not elements.
func payloadStart(r xml.TokenReader) (xml.StartElement, *stanza.Error) {
	if r == nil {
		return xml.StartElement{}, badRequest("the IQ has no payload")
	}
	for {
		tok, err := next(r)
		if start, ok := tok.(xml.StartElement); ok {
			return start, nil
		}
		if err == io.EOF {
			return xml.StartElement{}, badRequest("the IQ has no payload")
		}
		if err != nil {
			return xml.StartElement{}, malformed(err)
		}
	}
}

// requestOp decides the operation from the IQ type and the payload element
// (RFC 6120 §8.3.3: service-unavailable for a namespace we do not serve,
// feature-not-implemented for an element of ours we do not know).
func requestOp(typ stanza.IQType, start xml.StartElement) (request, *stanza.Error) {
	if xmltok.Space(start, "") != NS {
		return request{}, refusal(stanza.Cancel, stanza.ServiceUnavailable, "this handler serves only "+NS+" payloads")
	}
	var want stanza.IQType
	var req request
	switch start.Name.Local {
	case "blocklist":
		want, req.op = stanza.GetIQ, opList
	case "block":
		want, req.op = stanza.SetIQ, opBlock
	case "unblock":
		want, req.op = stanza.SetIQ, opUnblock
	default:
		return request{}, refusal(stanza.Cancel, stanza.FeatureNotImplemented, "unknown blocking command <"+start.Name.Local+"/>")
	}
	if typ != want {
		return request{}, badRequest("<" + start.Name.Local + "/> must be sent in an IQ of type " + string(want))
	}
	return req, nil
}

// readItems reads the payload's children up to and including its end
// element. With parse true it returns the JIDs of the <item/> children;
// other children are ignored, as are the children of items (such as
// XEP-0377 reports).
func readItems(r xml.TokenReader, parse bool) ([]jid.JID, *stanza.Error) {
	var items []jid.JID
	depth := 0 // depth below the payload element
	for {
		tok, err := next(r)
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if parse && depth == 1 && t.Name.Local == "item" && (t.Name.Space == "" || t.Name.Space == NS) {
				item, serr := parseItem(t)
				if serr != nil {
					return nil, serr
				}
				items = append(items, item)
			}
		case xml.EndElement:
			if depth == 0 {
				return items, nil
			}
			depth--
		}
		if err == io.EOF {
			return nil, badRequest("the payload element is not closed")
		}
		if err != nil {
			return nil, malformed(err)
		}
	}
}

// next reads a token, taking a reader that returns neither a token nor an
// error for exhausted, so that a faulty reader cannot make parsing spin.
func next(r xml.TokenReader) (xml.Token, error) {
	tok, err := r.Token()
	if tok == nil && err == nil {
		return nil, io.EOF
	}
	return tok, err
}

func parseItem(t xml.StartElement) (jid.JID, *stanza.Error) {
	v, ok := xmltok.Attr(t, "jid")
	if !ok {
		return jid.JID{}, badRequest("an <item/> has no jid attribute")
	}
	j, err := jid.Parse(v)
	if err != nil {
		return jid.JID{}, refusal(stanza.Modify, stanza.JIDMalformed, "invalid JID "+quote(v)+": "+err.Error())
	}
	return j, nil
}

// noMorePayload checks that nothing but whitespace and comments follows the
// payload element: an IQ get or set carries exactly one payload (RFC 6120
// §8.2.3).
func noMorePayload(r xml.TokenReader) *stanza.Error {
	for {
		tok, err := next(r)
		if _, ok := tok.(xml.StartElement); ok {
			return badRequest("an IQ must contain exactly one payload element")
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return malformed(err)
		}
	}
}

func badRequest(msg string) *stanza.Error {
	return refusal(stanza.Modify, stanza.BadRequest, msg)
}

// refusal is the stanza error a command is refused with.
func refusal(typ stanza.ErrorType, cond stanza.Condition, msg string) *stanza.Error {
	se := rawstanza.Error(typ, cond, msg)
	return &se
}

func malformed(err error) *stanza.Error {
	var syntax *xml.SyntaxError
	if errors.As(err, &syntax) {
		return badRequest("malformed XML: " + syntax.Msg)
	}
	return badRequest("unreadable payload: " + err.Error())
}

// quote quotes s for an error text, as valid UTF-8 and shortened so that a
// hostile value is not echoed at length.
func quote(s string) string {
	const limit = 64
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return "'" + strings.ToValidUTF8(s, "\uFFFD") + "'"
}
