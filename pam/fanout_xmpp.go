package pam

import (
	"context"
	"encoding/xml"
	"errors"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/ns"
)

// Handler returns an xmpp.Handler that wraps next, the handler of a mellium
// session (typically a mux.ServeMux), such as the server-to-server session
// over which channels send their traffic: it serves every top-level
// <message/> with ServeMessage and hands next everything else, and the
// messages ServeMessage passes (all but groupchat to a bare JID). next may
// be nil to drop them.
//
//	session.Serve(fanOut.Handler(ctx, mux.New(stanza.NSServer, …)))
//
// There is no mux.Message adapter: mellium's mux calls message handlers
// once per child element of the message, which would archive a message once
// per child, and gives them a stanza.Message that has lost every attribute
// it does not know; mux.Handle refuses message handlers.
//
// mellium passes handlers no context, so ctx (typically the session's)
// bounds the work of every message. The handler returns next's errors only:
// dropped, unarchived and undelivered messages are counted (Stats) and
// logged, not turned into an error that would end the session. Hosts that
// want to archive again a record whose Append failed call ServeMessage,
// which returns it.
func (f *FanOut) Handler(ctx context.Context, next xmpp.Handler) xmpp.Handler {
	return xmpp.HandlerFunc(func(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		if isFanOutMessage(start.Name) {
			if _, err := f.ServeMessage(ctx, *start, t); !errors.Is(err, host.ErrNotHandled) {
				return nil
			}
		}
		if next == nil {
			return nil
		}
		return next.HandleXMPP(t, start)
	})
}

// isFanOutMessage reports a message stanza of any stanza namespace.
func isFanOutMessage(n xml.Name) bool {
	if n.Local != "message" {
		return false
	}
	switch n.Space {
	case "", ns.Client, stanza.NSServer, "jabber:component:accept":
		return true
	}
	return false
}
