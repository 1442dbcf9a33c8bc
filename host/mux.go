package host

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"sync"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/xmlenc"
)

// IQRoute names one IQ an IQHandler serves: its type and the name of its
// payload element.
type IQRoute struct {
	Type stanza.IQType
	Name xml.Name
}

// errMuxDone is returned to a reply that comes after the mux handler gave up.
var errMuxDone = errors.New("host: the mux handler has returned; reply dropped")

// Mux returns an option that registers h on a mellium mux.ServeMux for
// routes, on the stream of one session: the one mux adapter of every mixpam
// IQ handler.
//
// The policy for from (RFC 6120 §8.1.2.1: the server adds or overrides the
// from of what a client sends): on a client session's mux, session is the
// session's full JID and every IQ is served as from session, whatever from
// the client wrote. On a server-to-server stream's mux, session is the
// zero JID and each IQ keeps the from the host verified; one without from
// gets ErrNoSender, which ends the stream (RFC 6120 §4.9.3.14).
//
// Replies are written into the stream the mux serves, as mellium expects of
// an IQ handler, so the adapter blocks until h has replied with an IQ (a
// client-join waits for the channel, bounded by its Timeout): meanwhile the
// session's Serve loop reads nothing else. Pushes and other stanzas h routes
// itself go through its Router, which must therefore queue rather than
// write into this session synchronously. mellium's mux gives handlers no
// context: ctx (typically the session's) is the parent of every request's;
// when it ends the adapter stops waiting and returns ctx's error.
//
// An IQ that h reports ErrNotHandled for is answered service-unavailable.
// If h implements info.FeatureIter (mellium's disco), its features are
// listed through the mux's, once.
func Mux(ctx context.Context, h IQHandler, session jid.JID, routes ...IQRoute) mux.Option {
	a := muxAdapter{ctx: ctx, h: h, session: session}
	return func(m *mux.ServeMux) {
		for i, r := range routes {
			var ih mux.IQHandler = a
			if fi, ok := h.(info.FeatureIter); ok && i == 0 {
				ih = featuredAdapter{a, fi}
			}
			mux.IQ(r.Type, r.Name, ih)(m)
		}
	}
}

// MuxHandler is the mux.IQHandler that Mux registers, for hosts that
// compose it with their own (disco.Handle passes what is not for an account
// on to the host's handler).
func MuxHandler(ctx context.Context, h IQHandler, session jid.JID) mux.IQHandler {
	return muxAdapter{ctx: ctx, h: h, session: session}
}

type muxAdapter struct {
	ctx     context.Context
	h       IQHandler
	session jid.JID
}

type featuredAdapter struct {
	muxAdapter
	info.FeatureIter
}

// HandleIQ implements mux.IQHandler.
func (a muxAdapter) HandleIQ(iq stanza.IQ, t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	if !a.session.Equal(jid.JID{}) {
		iq.From = a.session
	}
	w := &muxWriter{t: t, answered: make(chan struct{})}
	payload := xmlstream.MultiReader(xmlstream.Token(start.Copy()), t)
	err := a.h.ServeIQ(a.ctx, iq, payload, w.reply)
	if errors.Is(err, ErrNotHandled) {
		answer := stanza.IQ{ID: iq.ID, From: iq.To, To: iq.From}
		_, err = xmlstream.Copy(t, answer.Error(stanza.Error{
			Type:      stanza.Cancel,
			Condition: stanza.ServiceUnavailable,
		}))
		return err
	}
	if err != nil || (iq.Type != stanza.GetIQ && iq.Type != stanza.SetIQ) {
		w.close()
		return err
	}
	select {
	case <-w.answered:
	case <-a.ctx.Done():
		w.close()
		return a.ctx.Err()
	}
	w.close()
	return w.err
}

// muxWriter writes replies into the mux's stream until the IQ answer.
type muxWriter struct {
	t        xmlstream.TokenReadEncoder
	mu       sync.Mutex
	done     bool
	err      error
	answered chan struct{}
}

func (w *muxWriter) reply(_ context.Context, _ jid.JID, raw []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return errMuxDone
	}
	_, err := xmlstream.Copy(w.t, xmlenc.EncoderTokens(raw))
	if bytes.HasPrefix(raw, []byte("<iq")) || err != nil {
		w.err, w.done = err, true
		close(w.answered)
	}
	return err
}

func (w *muxWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.done = true
		close(w.answered)
	}
}
