package c2s

import (
	"encoding/xml"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
	"mellium.im/xmpp/stream"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/wire"
	"github.com/mixpam/mixpam/ns"
)

// maxBindAttempts bounds rejected bind requests on one stream.
const maxBindAttempts = 5

// bind handles one element once the client is authenticated: the resource
// binding IQ (RFC 6120 §7). A bad request is answered with an IQ error and
// may be retried; anything else ends the stream. The server generates the
// resource when the client asks for none (§7.6). A resource already bound is
// not refused here: the server replaces the old session (§7.7.2.2).
func (n *negotiation) bind(el wire.Element) (*Stream, error) {
	if !el.Is(ns.Client, "iq") {
		return nil, &wire.Error{Cond: stream.NotAuthorized, Text: "bind a resource first"}
	}
	req, err := packet.FromStart(el.Start)
	child, ok := el.FirstChild()
	if err != nil || req.Type != string(stanza.SetIQ) || !ok || child.Name != (xml.Name{Space: nsBind, Local: "bind"}) {
		return nil, n.bindError(req, stanza.BadRequest, "expected a resource binding request")
	}
	resource := bindResource(el)
	if resource == "" {
		resource = "mixpam-" + wire.NewID()[:12]
	}
	full, err := jid.New(n.user, n.cfg.Domain, resource)
	if err != nil {
		return nil, n.bindError(req, stanza.BadRequest, "the resource is not a valid resourcepart")
	}
	result, err := bindResultIQ(req.ID, full)
	if err != nil {
		return nil, err
	}
	return &Stream{JID: full, Conn: n.conn, Reader: n.r, BindResult: result}, nil
}

// bindResource returns the text of <resource/> inside <bind/>.
func bindResource(el wire.Element) string {
	var text []byte
	depth := 0
	inResource := false
	for _, tok := range el.Inner {
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			inResource = depth == 2 && t.Name.Local == "resource" && t.Name.Space == nsBind
		case xml.EndElement:
			depth--
			inResource = false
		case xml.CharData:
			if inResource {
				text = append(text, t...)
			}
		}
	}
	return string(text)
}

// bindError answers a bad bind request and ends the stream after too many.
func (n *negotiation) bindError(req packet.Packet, cond stanza.Condition, text string) error {
	n.bindFailures++
	if n.bindFailures >= maxBindAttempts {
		return &wire.Error{Cond: stream.PolicyViolation, Text: "too many failed bind attempts"}
	}
	req.Kind = packet.IQ
	if req.Type != string(stanza.GetIQ) && req.Type != string(stanza.SetIQ) {
		req.Type = string(stanza.SetIQ)
	}
	reply, ok := packet.ErrorReply(req, jid.JID{}, packet.Err(cond, text))
	if !ok {
		return nil
	}
	return n.write(reply.Raw)
}

// bindResultIQ renders the bind result (RFC 6120 §7.6.1).
func bindResultIQ(id string, full jid.JID) ([]byte, error) {
	res := stanza.IQ{ID: id, To: full, Type: stanza.ResultIQ}.Wrap(
		xmlstream.Wrap(
			xmlstream.Wrap(xmlstream.Token(xml.CharData(full.String())), xml.StartElement{Name: xml.Name{Space: nsBind, Local: "jid"}}),
			xml.StartElement{Name: xml.Name{Space: nsBind, Local: "bind"}},
		),
	)
	p, err := packet.Encode(res)
	return p.Raw, err
}
