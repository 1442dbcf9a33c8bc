package pam

import (
	"encoding/xml"
	"errors"
	"io"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/rawstanza"
	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/internal/xmltok"
	"github.com/mixpam/mixpam/ns"
)

// Element names of XEP-0405 §2.7–2.8 and the XEP-0369 commands they wrap.
var (
	clientJoinName  = xml.Name{Space: ns.PAM, Local: "client-join"}
	clientLeaveName = xml.Name{Space: ns.PAM, Local: "client-leave"}
	mixJoinName     = xml.Name{Space: ns.MIXCore, Local: "join"}
	mixLeaveName    = xml.Name{Space: ns.MIXCore, Local: "leave"}
)

// joinRequest is a validated client-join or client-leave.
type joinRequest struct {
	// leave is true for client-leave, false for client-join.
	leave bool
	// client is the requesting session's full JID, where the answer goes.
	client jid.JID
	// user is the client's bare JID: the forwarded IQ's from, and the from of
	// every answer to the client.
	user jid.JID
	// channel is the channel's bare JID, from the channel attribute.
	channel jid.JID
	// id is the client's IQ id, kept on the forwarded IQ and on the answer.
	id string
	// inner is the client's <join/> or <leave/>, serialised verbatim (every
	// attribute and child, known or not), declaring its own namespace.
	inner []byte
}

// wrapper is the local name of the XEP-0405 element for the request.
func (r joinRequest) wrapper() string {
	if r.leave {
		return clientLeaveName.Local
	}
	return clientJoinName.Local
}

// parseJoinRequest validates a client-join or client-leave IQ (XEP-0405
// §2.7, §2.8) whose header is iq and whose children payload yields, as an
// xml.Decoder yields them (names carry their namespace). iq.From must be the
// authenticated full JID of the sending session.
//
// It checks, in this order: the IQ is addressed to the sender's bare JID or
// has no to (else forbidden); its type is set and it has an id; it carries
// exactly one payload element, a client-join or client-leave (else
// service-unavailable for an unknown payload); the channel attribute is a
// bare JID with a localpart other than the user's own; the wrapper holds
// exactly one <join/> (resp. <leave/>) in urn:xmpp:mix:core:1 and nothing
// else but whitespace. Every non-nil error is a stanza.Error carrying a
// human-readable text.
//
// It may stop reading payload at the first problem.
func parseJoinRequest(iq stanza.IQ, payload xml.TokenReader) (joinRequest, error) {
	req := joinRequest{client: iq.From, user: iq.From.Bare(), id: iq.ID}
	if iq.To.String() != "" && !iq.To.Equal(req.user) {
		return req, rawstanza.Error(stanza.Auth, stanza.Forbidden,
			"client-join and client-leave must be addressed to your own bare JID")
	}
	if iq.Type != stanza.SetIQ {
		return req, joinBadRequest("client-join and client-leave must be sent in an IQ of type set")
	}
	if iq.ID == "" {
		return req, joinBadRequest("the IQ has no id")
	}
	if payload == nil {
		return req, joinBadRequest("the IQ has no payload")
	}
	// The loops below stop at the first error; Guard makes sure there is one
	// should the host's reader stall.
	payload = xmlenc.Guard(payload)

	wrapper, err := joinNextStart(payload)
	if err != nil {
		return req, err
	}
	switch wrapper.Name {
	case clientJoinName:
	case clientLeaveName:
		req.leave = true
	default:
		return req, rawstanza.Error(stanza.Cancel, stanza.ServiceUnavailable,
			"this server only handles client-join and client-leave here")
	}
	if req.channel, err = joinChannelAttr(wrapper, req.user); err != nil {
		return req, err
	}
	if req.inner, err = joinReadCommand(payload, req.wrapper(), req.command()); err != nil {
		return req, err
	}
	if err := joinReadEnd(payload); err != nil {
		return req, err
	}
	return req, nil
}

// command is the name of the XEP-0369 element the request must wrap.
func (r joinRequest) command() xml.Name {
	if r.leave {
		return mixLeaveName
	}
	return mixJoinName
}

// joinNextStart returns the IQ's payload element, skipping whitespace.
func joinNextStart(r xml.TokenReader) (xml.StartElement, error) {
	for {
		tok, err := r.Token()
		switch t := tok.(type) {
		case xml.StartElement:
			return t.Copy(), nil
		case xml.CharData:
			if !joinIsSpace(t) {
				return xml.StartElement{}, joinBadRequest("the IQ carries text outside its payload element")
			}
		case xml.EndElement:
			return xml.StartElement{}, joinBadRequest("the IQ's payload is not well-formed")
		}
		if err == io.EOF {
			return xml.StartElement{}, joinBadRequest("the IQ has no payload")
		}
		if err != nil {
			return xml.StartElement{}, joinMalformed(err)
		}
	}
}

// joinChannelAttr returns the wrapper's channel attribute as a channel JID:
// valid, with a localpart, without a resource, and not the user's own.
func joinChannelAttr(wrapper xml.StartElement, user jid.JID) (jid.JID, error) {
	raw := xmltok.AttrValue(wrapper, "channel")
	if raw == "" {
		return jid.JID{}, joinBadRequest(wrapper.Name.Local + " needs a channel attribute naming the channel's JID")
	}
	channel, err := jid.Parse(raw)
	switch {
	case err != nil:
		return jid.JID{}, joinBadRequest("the channel attribute is not a valid JID: " + err.Error())
	case channel.Localpart() == "":
		return jid.JID{}, joinBadRequest("the channel attribute must name a channel (channel@service), not a service")
	case channel.Resourcepart() != "":
		return jid.JID{}, joinBadRequest("the channel attribute must be a bare JID, without a resource")
	case channel.Equal(user):
		return jid.JID{}, joinBadRequest("the channel attribute names your own JID")
	}
	return channel, nil
}

// joinReadCommand reads the wrapper's content up to and including its end
// element and returns its one child, which must be named want, serialised
// verbatim.
func joinReadCommand(r xml.TokenReader, wrapper string, want xml.Name) ([]byte, error) {
	wrongChild := joinBadRequest(wrapper + " must contain exactly one <" + want.Local +
		" xmlns='" + want.Space + "'/> and nothing else")
	var inner []byte
	for {
		tok, err := r.Token()
		switch t := tok.(type) {
		case xml.StartElement:
			if inner != nil || t.Name != want {
				return nil, wrongChild
			}
			var encErr error
			inner, encErr = xmlenc.Append(nil,
				xmlstream.MultiReader(xmlstream.Token(t.Copy()), xmlstream.InnerElement(r)), ns.Client)
			if encErr != nil {
				return nil, joinMalformed(encErr)
			}
		case xml.CharData:
			if !joinIsSpace(t) {
				return nil, wrongChild
			}
		case xml.EndElement:
			// Only the wrapper's own end can come here: a child's end is
			// consumed with the child.
			if inner == nil {
				return nil, wrongChild
			}
			return inner, nil
		}
		if err == io.EOF {
			return nil, joinBadRequest(wrapper + " is not closed")
		}
		if err != nil {
			return nil, joinMalformed(err)
		}
	}
}

// joinReadEnd reads the rest of the IQ's children: nothing but whitespace
// may follow the payload element (RFC 6120 §8.2.3: exactly one payload).
func joinReadEnd(r xml.TokenReader) error {
	for {
		tok, err := r.Token()
		switch t := tok.(type) {
		case xml.StartElement, xml.EndElement:
			return joinBadRequest("the IQ must carry exactly one payload element")
		case xml.CharData:
			if !joinIsSpace(t) {
				return joinBadRequest("the IQ carries text outside its payload element")
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return joinMalformed(err)
		}
	}
}

func joinIsSpace(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
		default:
			return false
		}
	}
	return true
}

func joinBadRequest(text string) stanza.Error {
	return rawstanza.Error(stanza.Modify, stanza.BadRequest, text)
}

// joinMalformed reports a payload the token reader could not read.
func joinMalformed(err error) stanza.Error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return joinBadRequest("the payload ends before its elements are closed")
	case errors.Is(err, io.ErrNoProgress):
		return joinBadRequest("the payload could not be read")
	}
	return joinBadRequest("the payload is not well-formed XML: " + err.Error())
}
