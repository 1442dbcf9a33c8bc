package disco

import (
	"encoding/xml"
	"io"

	"github.com/mixpam/mixpam/internal/xmltok"
)

// Caps is an XEP-0115 entity capabilities annotation, the
// <c xmlns='http://jabber.org/protocol/caps'/> element a client puts in its
// presence (XEP-0115 §4, §6.1).
type Caps struct {
	// Hash names the hash function of the verification string ("sha-1").
	// It is empty in the legacy format (XEP-0115 §13), whose ver is a
	// software version and cannot be verified.
	Hash string
	// Node identifies the client software ("http://code.google.com/p/exodus").
	Node string
	// Ver is the verification string.
	Ver string
}

// InfoNode returns the node to which a disco#info request for these
// capabilities is addressed: node#ver (XEP-0115 §6.2).
func (c Caps) InfoNode() string {
	return c.Node + "#" + c.Ver
}

// ParseCaps reads the children of a presence stanza (payload yields the
// presence's child elements, then io.EOF) and returns its caps element.
// found is false for a presence without one. A presence with more than one
// caps element, or one whose element lacks node or ver, gets ErrInvalidCaps:
// it advertises nothing that can be trusted. Broken XML gets the reader's
// error. Other children are skipped. On success payload has been read to its end.
func ParseCaps(payload xml.TokenReader) (c Caps, found bool, err error) {
	t := newTokens(payload)
	for {
		start, ok, err := t.element()
		switch {
		case err == io.EOF:
			return c, found, nil
		case err != nil:
			return Caps{}, false, err
		case !ok:
			return Caps{}, false, xml.UnmarshalError("disco: unexpected end element in presence payload")
		}
		if err := t.skip(); err != nil {
			return Caps{}, false, err
		}
		if start.Name != (xml.Name{Space: nsCaps, Local: "c"}) {
			continue
		}
		if found {
			return Caps{}, false, ErrInvalidCaps
		}
		c = Caps{Hash: xmltok.AttrValue(start, "hash"), Node: xmltok.AttrValue(start, "node"), Ver: xmltok.AttrValue(start, "ver")}
		if c.Node == "" || c.Ver == "" {
			return Caps{}, false, ErrInvalidCaps
		}
		found = true
	}
}
