package roster

import (
	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
)

// AppendItem appends the jabber:iq:roster <item/> element for it, in the scope
// of a jabber:iq:roster <query/> (so without an xmlns of its own). When
// annotate is true and it is a channel item, the item carries
// <channel xmlns='urn:xmpp:mix:roster:0' participant-id='…'/> (XEP-0405 §2.10).
// An item with Subscription Remove renders as a removal push item.
func AppendItem(dst []byte, it Item, annotate bool) []byte {
	dst = append(dst, `<item jid="`...)
	dst = xmlenc.AppendEscaped(dst, it.JID.String(), true)
	dst = append(dst, '"')
	if it.Name != "" && it.Subscription != Remove {
		dst = append(dst, ` name="`...)
		dst = xmlenc.AppendEscaped(dst, it.Name, true)
		dst = append(dst, '"')
	}
	sub := it.Subscription
	if sub == "" {
		sub = None
	}
	dst = append(dst, ` subscription="`...)
	dst = append(dst, sub...)
	dst = append(dst, '"')
	if it.Ask && sub != Remove {
		dst = append(dst, ` ask="subscribe"`...)
	}
	annotated := annotate && it.Channel && sub != Remove
	if len(it.Groups) == 0 && !annotated || sub == Remove {
		return append(dst, "/>"...)
	}
	dst = append(dst, '>')
	for _, g := range it.Groups {
		dst = append(dst, "<group>"...)
		dst = xmlenc.AppendEscaped(dst, g, false)
		dst = append(dst, "</group>"...)
	}
	if annotated {
		dst = append(dst, `<channel xmlns="`+ns.MIXRoster+`" participant-id="`...)
		dst = xmlenc.AppendEscaped(dst, it.ParticipantID, true)
		dst = append(dst, `"/>`...)
	}
	return append(dst, "</item>"...)
}
