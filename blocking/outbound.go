package blocking

import (
	"encoding/xml"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/rawstanza"
	"github.com/mixpam/mixpam/internal/xmltok"
)

// BlockedError returns the error a server sends back to its user in place
// of routing an outbound stanza to a JID the user blocked (XEP-0191 §3.3): a
// stanza of the same kind and id with from and to swapped, type error, and
// <error type='cancel'> holding <not-acceptable/> and
// <blocked xmlns='urn:xmpp:blocking:errors'/>.
//
// start is the outbound stanza's start element (message, presence or iq;
// mellium's stanza types give it with StartElement) with from stamped.
// payload, if not nil, is the stanza's children, included before the
// <error/> as RFC 6120 §8.3.1 suggests so that the client can tell which
// stanza failed; pass nil to leave them out.
//
// It returns nil for stanzas that must not be answered with an error: those
// of type error, and IQs of type result (RFC 6120 §8.2.3, §8.3.1).
//
// Decide whether the recipient is blocked with Filter.Blocked, passing the
// stanza's to as Peer.JID.
func BlockedError(start xml.StartElement, payload xml.TokenReader) xml.TokenReader {
	typ := xmltok.AttrValue(start, "type")
	if typ == string(stanza.ErrorIQ) || (start.Name.Local == "iq" && typ == string(stanza.ResultIQ)) {
		return nil
	}
	reply := xml.StartElement{Name: start.Name, Attr: make([]xml.Attr, 0, len(start.Attr)+1)}
	typed := false
	for _, a := range start.Attr {
		if a.Name.Space == "" {
			switch a.Name.Local {
			case "to":
				a.Name.Local = "from"
			case "from":
				a.Name.Local = "to"
			case "type":
				a.Value = "error"
				typed = true
			}
		}
		reply.Attr = append(reply.Attr, a)
	}
	if !typed {
		reply.Attr = append(reply.Attr, xml.Attr{Name: xml.Name{Local: "type"}, Value: "error"})
	}
	stanzaErr := rawstanza.Error(stanza.Cancel, stanza.NotAcceptable, "you have blocked this recipient; unblock it to communicate")
	blocked := xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: NSErrors, Local: "blocked"}})
	return xmlstream.Wrap(xmlstream.MultiReader(payload, stanzaErr.Wrap(blocked)), reply)
}
