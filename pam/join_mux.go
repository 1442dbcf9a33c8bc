package pam

import (
	"context"
	"encoding/xml"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/xmlenc"
)

// Handle returns an option that registers h on a mellium mux.ServeMux for the
// client-join and client-leave IQs (of type set, and get to refuse them) of
// one client session, whose authenticated full JID is session. Build the mux
// for the session once its resource is bound. An IQ without from is taken as
// from session; one whose from names anything else is answered forbidden.
// mellium's mux passes handlers no context, so ctx (typically the
// session's) is the parent of each request's context: its values reach the
// Exchanger and the Roster, and when it ends the handler stops waiting and
// returns its error, which ends the session (the request itself still
// finishes within its Timeout, as with HandleIQ).
//
// Handle blocks, unlike HandleIQ: mellium's ServeMux wants the answer written
// before the handler returns (otherwise Session.Serve answers
// service-unavailable itself), so the handler waits for the channel's answer,
// up to Timeout and one more Timeout for the roster update, and meanwhile
// the session's Serve loop reads nothing else and holds the session's output
// lock. Hosts that can deliver the answer later should call HandleIQ instead.
// Roster pushes still go through the Roster's Router, which therefore must
// not write synchronously into the session being served: queue them.
func Handle(ctx context.Context, h *JoinHandler, session jid.JID) mux.Option {
	handler := mux.IQHandlerFunc(func(iq stanza.IQ, t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		return h.handleMux(ctx, session, iq, t, start)
	})
	return func(m *mux.ServeMux) {
		for _, typ := range []stanza.IQType{stanza.SetIQ, stanza.GetIQ} {
			mux.IQ(typ, clientJoinName, handler)(m)
			mux.IQ(typ, clientLeaveName, handler)(m)
		}
	}
}

// handleMux serves one IQ from the mux and writes its answer to t.
func (h *JoinHandler) handleMux(ctx context.Context, session jid.JID, iq stanza.IQ, t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	if iq.Type != stanza.SetIQ && iq.Type != stanza.GetIQ {
		return nil
	}
	if iq.From.String() == "" {
		iq.From = session
	}
	var answer []byte
	if iq.From.Equal(session) {
		answers := make(chan []byte, 1)
		reply := func(_ context.Context, _ jid.JID, raw []byte) error {
			answers <- raw
			return nil
		}
		payload := xmlstream.MultiReader(xmlstream.Token(start.Copy()), t)
		if err := h.serve(ctx, iq, payload, reply); err != nil {
			return err
		}
		select {
		case answer = <-answers:
		case <-ctx.Done():
			return ctx.Err()
		}
	} else {
		answer = joinAppendError(nil, iq.ID, session.Bare(), session, joinError(stanza.Auth, stanza.Forbidden,
			"the from attribute does not match your session"))
	}
	_, err := xmlstream.Copy(t, xmlenc.EncoderTokens(answer))
	return err
}
