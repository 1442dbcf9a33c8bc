package roster

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/rawstanza"
	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/internal/xmltok"
	"github.com/mixpam/mixpam/ns"
)

// Limits on what a roster set may carry. RFC 6121 §2.3.3 lets the server
// configure the name and group limits and answer not-acceptable beyond them;
// the group count bounds what one hostile set can make the server store.
const (
	maxNameLen  = 1023 // bytes of an item's name
	maxGroupLen = 1023 // bytes of one group name
	maxGroups   = 64   // groups of one item
)

// Query is a client's roster get or roster set (RFC 6121 §2.1.3, §2.1.5),
// as ParseQuery reads it.
type Query struct {
	// Ver is the query's ver attribute (RFC 6121 §2.6, XEP-0237) and HasVer
	// reports whether it was present. ver="" asks to bootstrap versioning.
	Ver    string
	HasVer bool
	// Annotate reports that a roster get carried
	// <annotate xmlns='urn:xmpp:mix:roster:0'/> (XEP-0405 §2.10).
	Annotate bool
	// Item is the one item of a roster set. Its JID is a bare JID; its
	// Subscription is Remove for a removal and empty otherwise, because a
	// server ignores every other value a client sends, as it ignores ask and
	// approved (RFC 6121 §2.1.2).
	Item Item
}

// ParseQuery reads the payload of a roster get or set (typ stanza.GetIQ or
// stanza.SetIQ): the jabber:iq:roster <query/> element, from its start
// element (leading whitespace is skipped) to its end element, and nothing
// beyond it.
//
// A request the server must refuse gets a stanza.Error, ready to be sent
// back:
//   - no payload (a nil payload, or one without an element): bad-request;
//   - a payload that is not a roster query: service-unavailable;
//   - a get with an item, a set without exactly one item, an item without a
//     valid bare JID, duplicate groups: bad-request (RFC 6121 §2.1.3,
//     §2.1.5, §2.3.3);
//   - an empty group, a name or group longer than 1023 bytes, more than 64
//     groups: not-acceptable (RFC 6121 §2.3.3).
//
// Any other error comes from reading payload and is returned wrapped.
// Unknown attributes and child elements are ignored; <annotate/> counts
// only in a get.
func ParseQuery(typ stanza.IQType, payload xml.TokenReader) (Query, error) {
	payload = xmlenc.Guard(payload)
	start, err := firstElement(payload)
	if err != nil {
		return Query{}, err
	}
	if xmltok.Space(start, "") != ns.Roster || start.Name.Local != "query" {
		return Query{}, rawstanza.Error(stanza.Cancel, stanza.ServiceUnavailable, "the payload is not a jabber:iq:roster query")
	}
	var q Query
	q.Ver, q.HasVer = xmltok.Attr(start, "ver")
	items := 0
	for {
		tok, err := payload.Token()
		switch t := tok.(type) {
		case xml.StartElement:
			space := xmltok.Space(t, ns.Roster)
			switch {
			case space == ns.Roster && t.Name.Local == "item":
				items++
				switch {
				case typ == stanza.GetIQ:
					return Query{}, badRequest("a roster get carries no items (RFC 6121 §2.1.3)")
				case items > 1:
					return Query{}, badRequest("a roster set carries exactly one item (RFC 6121 §2.1.5)")
				}
				q.Item, err = parseItem(t, space, payload)
				if err != nil {
					return Query{}, err
				}
				continue
			case space == ns.MIXRoster && t.Name.Local == "annotate":
				q.Annotate = typ == stanza.GetIQ
			}
			if err := xmltok.Skip(payload); err != nil {
				return Query{}, readError(err)
			}
			continue
		case xml.EndElement:
			if typ == stanza.SetIQ && items == 0 {
				return Query{}, badRequest("a roster set carries exactly one item (RFC 6121 §2.1.5)")
			}
			return q, nil
		}
		if err != nil {
			return Query{}, readError(err)
		}
	}
}

// parseItem reads the rest of the <item/> element that start opened in
// namespace space.
func parseItem(start xml.StartElement, space string, r xml.TokenReader) (Item, error) {
	var it Item
	j, ok := xmltok.Attr(start, "jid")
	if !ok || j == "" {
		return Item{}, badRequest("the item has no jid attribute (RFC 6121 §2.1.2.3)")
	}
	var err error
	it.JID, err = jid.Parse(j)
	if err != nil {
		return Item{}, badRequest("the item's jid is not a valid JID")
	}
	if it.JID.Resourcepart() != "" {
		return Item{}, badRequest("a roster item's jid is a bare JID")
	}
	it.Name, _ = xmltok.Attr(start, "name")
	if len(it.Name) > maxNameLen {
		return Item{}, notAcceptable(fmt.Sprintf("the item's name is longer than %d bytes", maxNameLen))
	}
	if sub, _ := xmltok.Attr(start, "subscription"); sub == string(Remove) {
		it.Subscription = Remove
	}
	for {
		tok, err := r.Token()
		switch t := tok.(type) {
		case xml.StartElement:
			if xmltok.Space(t, space) != ns.Roster || t.Name.Local != "group" {
				if err := xmltok.Skip(r); err != nil {
					return Item{}, readError(err)
				}
				continue
			}
			// Child elements of a group are ignored (ErrChild), as those of
			// an item are.
			g, err := xmltok.Text(r, maxGroupLen)
			switch {
			case errors.Is(err, xmltok.ErrTooLong):
				return Item{}, notAcceptable(fmt.Sprintf("a group name is longer than %d bytes", maxGroupLen))
			case err != nil && !errors.Is(err, xmltok.ErrChild):
				return Item{}, readError(err)
			case g == "":
				return Item{}, notAcceptable("a group name is empty (RFC 6121 §2.3.3)")
			case slices.Contains(it.Groups, g):
				return Item{}, badRequest("the item has duplicate groups (RFC 6121 §2.3.3)")
			case len(it.Groups) == maxGroups:
				return Item{}, notAcceptable(fmt.Sprintf("the item has more than %d groups", maxGroups))
			}
			it.Groups = append(it.Groups, g)
			continue
		case xml.EndElement:
			return it, nil
		}
		if err != nil {
			return Item{}, readError(err)
		}
	}
}

// firstElement returns the first start element of r, skipping whitespace
// and anything else before it. An r without one gets a bad-request.
func firstElement(r xml.TokenReader) (xml.StartElement, error) {
	for {
		tok, err := r.Token()
		if t, ok := tok.(xml.StartElement); ok {
			return t, nil
		}
		if errors.Is(err, io.EOF) {
			return xml.StartElement{}, badRequest("the IQ carries no roster query")
		}
		if err != nil {
			return xml.StartElement{}, readError(err)
		}
	}
}

func readError(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("roster: reading the query: %w", err)
}

func badRequest(text string) stanza.Error {
	return rawstanza.Error(stanza.Modify, stanza.BadRequest, text)
}

func notAcceptable(text string) stanza.Error {
	return rawstanza.Error(stanza.Modify, stanza.NotAcceptable, text)
}
