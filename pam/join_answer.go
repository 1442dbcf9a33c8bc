package pam

import (
	"bytes"
	"encoding/xml"
	"strings"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/mixjid"
	"github.com/mixpam/mixpam/internal/rawstanza"
	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
)

// This file reads the channel's answer (host.Response.Payload, untrusted)
// and renders the answers to the client.

// XEP-0404 namespaces read from a join's preference form.
const (
	joinNSDataForms = "jabber:x:data"
	joinNSMIXAnon   = "urn:xmpp:mix:anon:0"
)

// joinLeaveElement answers a client-leave when the channel's result carries
// no <leave/> of its own (XEP-0405 Listing 11).
const joinLeaveElement = `<leave xmlns="` + ns.MIXCore + `"/>`

// joinAnswerChild returns the first top-level element of a channel's answer
// payload that match accepts: its start tag and its bytes, verbatim.
//
// payload is a host.Response payload, in which every top-level child
// declares its own namespace, so the bytes of one child stand alone.
func joinAnswerChild(payload []byte, match func(xml.Name) bool) (xml.StartElement, []byte, bool) {
	d := xml.NewDecoder(bytes.NewReader(payload))
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err != nil {
			return xml.StartElement{}, nil, false
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if err := d.Skip(); err != nil {
			return xml.StartElement{}, nil, false
		}
		if match(start.Name) {
			return start.Copy(), payload[off:d.InputOffset()], true
		}
	}
}

// joinResultCommand returns the <join/> or <leave/> of a channel's result.
func joinResultCommand(payload []byte, want xml.Name) (xml.StartElement, []byte, bool) {
	return joinAnswerChild(payload, func(n xml.Name) bool { return n == want })
}

// joinParticipantID returns the user's Stable Participant ID from the
// channel's <join/> result: its id attribute (XEP-0369 §"Joining a Channel":
// "The user's Stable Participant ID is returned as an 'id' attribute in the
// join"), else the participant part of its jid attribute when that is the
// encoded JID participant#channel@service of this channel (older MIX
// versions, XEP-0405 Listing 6). It is empty when neither is usable; an id
// containing '#', '/' or '@' is not (XEP-0369 §"Stable Participant ID").
func joinParticipantID(join xml.StartElement, channel jid.JID) string {
	var id, encoded string
	for _, a := range join.Attr {
		if a.Name.Space != "" {
			continue
		}
		switch a.Name.Local {
		case "id":
			id = a.Value
		case "jid":
			encoded = a.Value
		}
	}
	if id != "" && !strings.ContainsAny(id, "#/@") {
		return id
	}
	if j, err := jid.Parse(encoded); err == nil {
		if p, ch, ok := mixjid.Split(j); ok && ch.Equal(channel) {
			return p
		}
	}
	return ""
}

// joinSharesPresence reports whether the user shares presence with a joined
// channel, which makes the channel's roster item "from" (presence goes to the
// channel, RFC 6121 one-way) rather than "none", chosen with the XEP-0404
// Presence preference 'not share' ("If the user does not wish to publish
// presence information to the channel, the user's server will add the roster
// entry with mode subscription=none"; XEP-0405 §2.9, roster.ChannelItem).
//
// The preference is read from the channel's result <join/> first (XEP-0404
// §"User Preferences": "In the response, the server MUST specify all of the
// user preferences supported by the server"), then from the client's
// request, and defaults to 'share' (XEP-0404 table "Standard User
// Preference Options"). Subscribing or not to the presence node does not
// matter: that node carries other participants' presence to the user
// (XEP-0403), not the user's presence to the channel.
func joinSharesPresence(request, result []byte) bool {
	share, ok := joinPresencePreference(result)
	if !ok {
		share, ok = joinPresencePreference(request)
	}
	return share || !ok
}

// joinPresencePreference reads the XEP-0404 Presence preference from a
// serialised <join/>: a child <x xmlns='jabber:x:data'/> whose FORM_TYPE is
// urn:xmpp:mix:anon:0 and whose field var='Presence' has the value 'share'
// or 'not share', in any case: XEP-0404 lists 'share' and 'not share' in its
// table of options, but its text says that the preference "MUST be set to
// 'Share'" in some channels. found is false when there is no such form,
// field or value.
func joinPresencePreference(join []byte) (share, found bool) {
	if !bytes.Contains(join, []byte(joinNSDataForms)) {
		return false, false // no form: skip decoding
	}
	d := xml.NewDecoder(bytes.NewReader(join))
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return false, false
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth != 1 || t.Name != (xml.Name{Space: joinNSDataForms, Local: "x"}) {
				depth++
				continue
			}
			var form joinForm
			if err := d.DecodeElement(&form, &t); err != nil {
				return false, false
			}
			if share, found := form.presence(); found {
				return share, true
			}
		case xml.EndElement:
			depth--
			if depth == 0 {
				return false, false
			}
		}
	}
}

// joinForm is the part of an XEP-0004 form that joinPresencePreference reads.
// It only reads: the join itself is always forwarded verbatim.
type joinForm struct {
	Fields []struct {
		Var    string   `xml:"var,attr"`
		Values []string `xml:"jabber:x:data value"`
	} `xml:"jabber:x:data field"`
}

func (f joinForm) presence() (share, found bool) {
	var formType, presence string
	for _, field := range f.Fields {
		if len(field.Values) != 1 {
			continue
		}
		switch field.Var {
		case "FORM_TYPE":
			formType = field.Values[0]
		case "Presence":
			presence = field.Values[0]
		}
	}
	if formType != joinNSMIXAnon {
		return false, false
	}
	switch {
	case strings.EqualFold(presence, "share"):
		return true, true
	case strings.EqualFold(presence, "not share"):
		return false, true
	}
	return false, false
}

// joinChannelError returns the <error/> of a channel's error answer,
// verbatim (type, by, condition, texts and application-specific elements),
// when it is a usable RFC 6120 §8.3.2 stanza error: a known type, a defined
// condition, and a by attribute, if any, that is a JID (clients such as
// mellium's reject the whole error otherwise). Anything the channel echoed
// next to it (such as the request) is left out.
func joinChannelError(payload []byte) ([]byte, bool) {
	start, raw, ok := joinAnswerChild(payload, func(n xml.Name) bool {
		return n.Local == "error" && (n.Space == "" || n.Space == ns.Client)
	})
	if !ok {
		return nil, false
	}
	typeOK := false
	for _, a := range start.Attr {
		if a.Name.Space != "" {
			continue
		}
		switch a.Name.Local {
		case "type":
			switch stanza.ErrorType(a.Value) {
			case stanza.Auth, stanza.Cancel, stanza.Continue, stanza.Modify, stanza.Wait:
				typeOK = true
			}
		case "by":
			if _, err := jid.Parse(a.Value); err != nil {
				return nil, false
			}
		}
	}
	if !typeOK {
		return nil, false
	}
	if !joinHasCondition(raw) {
		return nil, false
	}
	return raw, true
}

// joinHasCondition reports whether a serialised <error/> has a defined
// condition: a child in urn:ietf:params:xml:ns:xmpp-stanzas other than
// <text/>.
func joinHasCondition(errElem []byte) bool {
	d := xml.NewDecoder(bytes.NewReader(errElem))
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && t.Name.Space == ns.Stanzas && t.Name.Local != "text" {
				return true
			}
		case xml.EndElement:
			depth--
			if depth == 0 {
				return false
			}
		}
	}
}

// joinAppendResult appends the result IQ to the client (XEP-0405 Listings 7
// and 11): the channel's <join/> or <leave/> wrapped verbatim.
func joinAppendResult(dst []byte, req *joinRequest, command []byte) []byte {
	dst = rawstanza.AppendIQStart(dst, stanza.ResultIQ, req.id, req.user, req.client)
	dst = append(dst, "><"...)
	dst = append(dst, req.wrapper()...)
	dst = append(dst, ` xmlns="`+ns.PAM+`">`...)
	dst = append(dst, command...)
	dst = append(dst, "</"...)
	dst = append(dst, req.wrapper()...)
	return append(dst, "></iq>"...)
}

// joinAppendRawError appends an error IQ to the client carrying a
// serialised <error/>.
func joinAppendRawError(dst []byte, req *joinRequest, errElem []byte) []byte {
	dst = rawstanza.AppendIQStart(dst, stanza.ErrorIQ, req.id, req.user, req.client)
	dst = append(dst, '>')
	dst = append(dst, errElem...)
	return append(dst, "</iq>"...)
}

// joinAppendError appends an error IQ from from to to with id.
func joinAppendError(dst []byte, id string, from, to jid.JID, se stanza.Error) []byte {
	dst = rawstanza.AppendIQStart(dst, stanza.ErrorIQ, id, from, to)
	dst = append(dst, '>')
	// A stanza.Error renders to well-formed tokens: Append cannot fail.
	dst, _ = xmlenc.Append(dst, se.TokenReader(), ns.Client)
	return append(dst, "</iq>"...)
}
