package host

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sync"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"
)

// PresenceHandler is the presence counterpart of IQHandler: what serves a
// presence stanza (the mixpam Dispatcher, presence.Handler).
//
// ServePresence serves one presence: p is its header, with From stamped by
// the host as for IQHandler, and payload yields its children (the tokens
// between <presence> and </presence>). Presence is never answered (RFC 6121
// §8.5: an error would reveal the account), so there is no reply. A
// presence the handler does not serve gets ErrNotHandled, with nothing read
// from payload; any other error is the host's failure (a stanza could not
// be routed, the payload could not be read).
type PresenceHandler interface {
	ServePresence(ctx context.Context, p stanza.Presence, payload xml.TokenReader) error
}

// PresenceHandlerFunc adapts a function to PresenceHandler.
type PresenceHandlerFunc func(ctx context.Context, p stanza.Presence, payload xml.TokenReader) error

// ServePresence calls f.
func (f PresenceHandlerFunc) ServePresence(ctx context.Context, p stanza.Presence, payload xml.TokenReader) error {
	return f(ctx, p, payload)
}

// presenceTypes are the presence types MuxPresence registers: what a
// client broadcasts (available, unavailable) and what a channel sends to
// a user (those, probes and errors). Subscriptions stay the host's.
var presenceTypes = []stanza.PresenceType{
	stanza.AvailablePresence, stanza.UnavailablePresence, stanza.ProbePresence, stanza.ErrorPresence,
}

// MuxPresence returns an option that registers h on a mellium mux.ServeMux
// for presence of the types mixpam serves (available, unavailable, probe,
// error) whatever its children, on the stream of one session: the presence
// counterpart of Mux, with Mux's policy for from. On a client session's mux
// session is the session's full JID and every presence is served as from
// session, whatever from the client wrote (RFC 6120 §8.1.2.1). On a
// server-to-server stream's mux session is the zero JID and each presence
// keeps the from the host verified; one without from gets ErrNoSender,
// which ends the stream (RFC 6120 §4.9.3.14). ErrNotHandled from h is not
// an error: the presence was not mixpam's. ctx is the parent of every
// call's, as with Mux.
//
// mellium's mux calls a presence handler once per child element of the
// stanza (once for a presence without children), each time from the
// stanza's start. The adapter serves each stanza once, at its first call,
// and lets the calls for the stanza's other children pass: it counts them
// with the mux's own lookup (ServeMux.PresenceHandler), so other handlers
// registered on the same mux for a payload (XEP-0115 caps, say) keep the
// children they match. Two limits follow from mellium's mux (v0.23.0): a
// presence whose every child another handler takes never reaches h, and
// mellium calls no handler at all for a presence whose only content is
// whitespace. The mux must serve one stream, in order, as Session.Serve
// does.
func MuxPresence(ctx context.Context, h PresenceHandler, session jid.JID) mux.Option {
	return func(m *mux.ServeMux) {
		a := &presenceAdapter{ctx: ctx, h: h, session: session, mux: m}
		for _, typ := range presenceTypes {
			mux.Presence(typ, xml.Name{}, a)(m)
		}
	}
}

type presenceAdapter struct {
	ctx     context.Context
	h       PresenceHandler
	session jid.JID
	mux     *mux.ServeMux

	mu   sync.Mutex
	skip int // calls still to come for the stanza served last
}

// HandlePresence implements mux.PresenceHandler.
func (a *presenceAdapter) HandlePresence(p stanza.Presence, t xmlstream.TokenReadEncoder) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.skip > 0 {
		a.skip--
		return nil
	}
	if !a.session.Equal(jid.JID{}) {
		p.From = a.session
	}
	// mellium's reader starts at the stanza's start element.
	if _, err := t.Token(); err != nil {
		return err
	}
	children := &childNames{r: xmlstream.Inner(t)}
	var err error
	if p.From.Equal(jid.JID{}) {
		err = fmt.Errorf("host: presence without from: %w", ErrNoSender)
	} else if err = a.h.ServePresence(a.ctx, p, children); errors.Is(err, ErrNotHandled) {
		err = nil
	}
	if _, derr := xmlstream.Copy(xmlstream.Discard(), children); derr != nil && err == nil {
		err = derr
	}
	a.skip = a.calls(p.Type, children.names) - 1
	return err
}

// calls returns how many times the mux calls the adapter for a presence of
// type typ with the direct children named names.
func (a *presenceAdapter) calls(typ stanza.PresenceType, names []xml.Name) int {
	if len(names) == 0 {
		return 1
	}
	n := 0
	for _, name := range names {
		if h, _ := a.mux.PresenceHandler(typ, name); h == mux.PresenceHandler(a) {
			n++
		}
	}
	return n
}

// childNames passes tokens on and records the names of the direct
// children among them.
type childNames struct {
	r     xml.TokenReader
	depth int
	names []xml.Name
}

func (c *childNames) Token() (xml.Token, error) {
	tok, err := c.r.Token()
	switch t := tok.(type) {
	case xml.StartElement:
		if c.depth == 0 {
			c.names = append(c.names, t.Name)
		}
		c.depth++
	case xml.EndElement:
		c.depth--
	}
	if err == io.EOF && c.depth != 0 {
		err = io.ErrUnexpectedEOF
	}
	return tok, err
}
