package server

import (
	"context"
	"encoding/xml"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/stanza"
	"mellium.im/xmpp/stream"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/wire"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/ns"
)

// handle dispatches one element from the client. It returns an error only
// to end the stream.
func (sess *session) handle(el wire.Element) error {
	if el.Start.Name.Space != ns.Client {
		return &wire.Error{Cond: stream.UnsupportedStanzaType, Text: "unsupported element " + el.Start.Name.Local + " in " + el.Start.Name.Space}
	}
	// The server stamps the sender's full JID, whatever the client wrote
	// (RFC 6120 §8.1.2.1).
	start := el.Start.Copy()
	packet.SetAttr(&start, "from", sess.jid.String())
	p, err := packet.FromStart(start)
	if p.Kind == "" {
		return &wire.Error{Cond: stream.UnsupportedStanzaType, Text: "unsupported element " + el.Start.Name.Local}
	}
	p.From = sess.jid
	if err != nil {
		sess.reject(p, stanza.JIDMalformed, "the to address is not a valid JID")
		return nil
	}
	p.Raw, err = host.AppendStanza(nil, xmlstream.Wrap(el.Payload(), start))
	if err != nil {
		return &wire.Error{Cond: stream.NotWellFormed, Text: err.Error()}
	}
	ctx, cancel := context.WithTimeout(sess.srv.ctx, sess.srv.cfg.RequestTimeout)
	defer cancel()
	switch p.Kind {
	case packet.IQ:
		sess.iq(ctx, p, el)
	case packet.Message:
		sess.message(ctx, p)
	case packet.Presence:
		sess.presenceFromClient(ctx, p)
	}
	return nil
}

// iq checks an IQ from the client (RFC 6120 §8.2.3) and passes it on.
func (sess *session) iq(ctx context.Context, p packet.Packet, el wire.Element) {
	switch stanza.IQType(p.Type) {
	case stanza.GetIQ, stanza.SetIQ:
		if p.ID == "" || countChildren(el) != 1 {
			sess.reject(p, stanza.BadRequest, "an IQ request needs an id and exactly one child element")
			return
		}
	case stanza.ResultIQ, stanza.ErrorIQ:
		if p.ID == "" {
			return
		}
	default:
		sess.reject(p, stanza.BadRequest, "IQ type must be get, set, result or error")
		return
	}
	if p.To.String() == "" {
		// A request without to is for the sender's own account (RFC 6120
		// §10.3.3); an answer without to is for the server.
		if p.IsRequest() {
			sess.srv.ownAccountRequest(ctx, p, sess.jid.Bare())
			return
		}
		p.To = sess.srv.domain
	}
	if sess.blockedOutbound(ctx, p) {
		return
	}
	caps := sess.capsAnswer(p)
	sess.srv.router.Send(ctx, p)
	sess.awaitCapsApplied(ctx, caps)
}

// message passes on a message from the client. One without to is for the
// sender's own bare JID (RFC 6120 §10.3.1).
func (sess *session) message(ctx context.Context, p packet.Packet) {
	if p.To.String() == "" {
		p.To = sess.jid.Bare()
	}
	if sess.blockedOutbound(ctx, p) {
		return
	}
	sess.srv.router.Send(ctx, p)
}

// reject answers the client's stanza with an error from the server.
func (sess *session) reject(p packet.Packet, cond stanza.Condition, text string) {
	p.To = sess.srv.domain
	if reply, ok := packet.ErrorReply(p, sess.srv.domain, packet.Err(cond, text)); ok {
		sess.q.Send(reply.Raw)
	}
}

// countChildren counts the element's child elements.
func countChildren(el wire.Element) int {
	n, depth := 0, 0
	for _, tok := range el.Inner {
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				n++
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return n
}
