package pam

import (
	"bytes"
	"encoding/xml"
	"strings"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/ns"
)

// needsRealJID reports whether b wants the participant's real JID, which
// costs the fan-out a second read of the message.
func needsRealJID(b BlockFilter) bool {
	r, ok := b.(realJIDFilter)
	return ok && r.NeedsRealJID()
}

// mixRealJID returns the participant's real JID that a channel reveals in a
// groupchat message, <mix xmlns='urn:xmpp:mix:core:1'><jid>…</jid></mix>
// (XEP-0369 §7.1.6), or the zero JID when there is none or it is invalid.
// raw is a captured stanza, already known to be well-formed.
func mixRealJID(raw []byte) jid.JID {
	d := xml.NewDecoder(bytes.NewReader(raw))
	depth, inMix, inJID := 0, false, false
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			return jid.JID{}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 2 && t.Name.Space == ns.MIXCore && t.Name.Local == "mix":
				inMix = true
			case depth == 3 && inMix && t.Name.Space == ns.MIXCore && t.Name.Local == "jid":
				inJID = true
			}
		case xml.CharData:
			if inJID {
				text.Write(t)
			}
		case xml.EndElement:
			switch {
			case inJID && depth == 3:
				j, err := jid.Parse(strings.TrimSpace(text.String()))
				if err != nil {
					return jid.JID{}
				}
				return j
			case inMix && depth == 2:
				inMix = false
			case depth == 1:
				return jid.JID{}
			}
			depth--
		}
	}
}
