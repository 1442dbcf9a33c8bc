package host

import (
	"bytes"
	"context"
	"encoding/xml"

	"mellium.im/xmpp/jid"
)

// Router delivers stanzas on behalf of mixpam's handlers: to a local session,
// to a local user's bare JID, or to a remote entity such as a MIX channel.
// Implementations must be safe for concurrent use.
type Router interface {
	// Route delivers one stanza whose to attribute is to. It consumes the
	// stanza's tokens before returning and does not keep r. A nil error
	// means the stanza was accepted for delivery, not that it arrived.
	// Stanzas routed to one recipient from one goroutine arrive in the order
	// they were routed (RFC 6120 §10.1).
	Route(ctx context.Context, to jid.JID, stanza xml.TokenReader) error
}

// RawRouter is a Router with a fast path for stanzas that mixpam has already
// serialised. mixpam discovers it by type assertion, as io.Copy discovers
// io.WriterTo, and uses it on the groupchat fan-out hot path.
type RawRouter interface {
	Router
	// RouteRaw delivers one stanza serialised as UTF-8 XML without an XML
	// declaration. The top-level element carries no xmlns attribute: it is in
	// whatever stanza namespace the stream it is written into uses
	// (jabber:client for a client stream), and its children declare their
	// own namespaces. RouteRaw must not keep raw after it returns: the
	// caller reuses the buffer.
	RouteRaw(ctx context.Context, to jid.JID, raw []byte) error
}

// RouteBytes delivers a stanza that is already serialised (as RouteRaw
// describes) through r, using r's raw fast path when it has one and decoding
// raw into tokens otherwise.
func RouteBytes(ctx context.Context, r Router, to jid.JID, raw []byte) error {
	if rr, ok := r.(RawRouter); ok {
		return rr.RouteRaw(ctx, to, raw)
	}
	return r.Route(ctx, to, xml.NewDecoder(bytes.NewReader(raw)))
}
