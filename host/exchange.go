package host

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"sync"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
)

// Response is the answer to an IQ sent through an Exchanger.
type Response struct {
	// IQ is the answer's header. Type is stanza.ResultIQ or stanza.ErrorIQ.
	IQ stanza.IQ
	// Payload is the answer's children serialised verbatim, each child
	// declaring its own namespace. It is empty for an answer without
	// children.
	Payload []byte
}

// TokenReader returns the payload as tokens, ready to be wrapped in another
// element.
func (r Response) TokenReader() xml.TokenReader {
	if len(r.Payload) == 0 {
		return xmlstream.Token(nil)
	}
	return xml.NewDecoder(bytes.NewReader(r.Payload))
}

// Exchanger sends an IQ request and waits for the matching answer.
type Exchanger interface {
	// Exchange sends req (type get or set, with From, To and ID set) wrapping
	// payload, and returns the answer: an IQ of type result or error from
	// exactly req.To, to exactly req.From, with req.ID. An error IQ is a
	// Response, not an error; the error return is for failures to send, a
	// request already in flight with the same addresses and id
	// (ErrInFlight), and ctx ending before the answer came.
	Exchange(ctx context.Context, req stanza.IQ, payload xml.TokenReader) (Response, error)
}

// ErrInFlight is returned by Exchange when a request with the same from, to
// and id is already waiting for its answer: the two answers could not be told
// apart.
var ErrInFlight = constError("host: an IQ with the same from, to and id is already in flight")

// Exchange is an Exchanger over a Router. The host hands it every incoming
// IQ of type result or error through Receive before routing it anywhere
// else; Receive takes only exact answers to pending requests, so a spoofed
// or late answer is left to the host's normal routing and changes nothing.
//
// Exchange is safe for concurrent use. The zero value is not usable: call
// NewExchange.
type Exchange struct {
	router  Router
	mu      sync.Mutex
	pending map[exchangeKey]chan Response
}

type exchangeKey struct{ from, to, id string }

// NewExchange returns an Exchange that sends requests through r.
func NewExchange(r Router) *Exchange {
	return &Exchange{router: r, pending: make(map[exchangeKey]chan Response)}
}

// Exchange implements Exchanger.
func (e *Exchange) Exchange(ctx context.Context, req stanza.IQ, payload xml.TokenReader) (Response, error) {
	if req.Type != stanza.GetIQ && req.Type != stanza.SetIQ {
		return Response{}, fmt.Errorf("host: exchange needs an IQ of type get or set, not %q", req.Type)
	}
	if req.ID == "" || req.From.String() == "" || req.To.String() == "" {
		return Response{}, fmt.Errorf("host: exchange needs an IQ with id, from and to")
	}
	k := exchangeKey{from: req.From.String(), to: req.To.String(), id: req.ID}
	ch := make(chan Response, 1)
	e.mu.Lock()
	if _, busy := e.pending[k]; busy {
		e.mu.Unlock()
		return Response{}, ErrInFlight
	}
	e.pending[k] = ch
	e.mu.Unlock()

	if payload == nil {
		payload = xmlstream.Token(nil)
	}
	if err := e.router.Route(ctx, req.To, req.Wrap(payload)); err != nil {
		e.forget(k, ch)
		return Response{}, err
	}
	select {
	case resp := <-ch:
		return resp, nil
	case <-ctx.Done():
		e.forget(k, ch)
		// The answer may have arrived while ctx ended: prefer it. After
		// forget, a Receive that took the request has already put its
		// answer in ch (see Receive).
		select {
		case resp := <-ch:
			return resp, nil
		default:
		}
		return Response{}, ctx.Err()
	}
}

func (e *Exchange) forget(k exchangeKey, ch chan Response) {
	e.mu.Lock()
	if e.pending[k] == ch {
		delete(e.pending, k)
	}
	e.mu.Unlock()
}

// Receive offers an incoming IQ to the exchange. It reports whether the IQ
// was the answer to a pending request; if so the exchange has consumed it
// (payload included) and the host must not route it further. IQs of type get
// or set, and answers that match nothing, are left untouched.
func (e *Exchange) Receive(iq stanza.IQ, payload xml.TokenReader) (bool, error) {
	if iq.Type != stanza.ResultIQ && iq.Type != stanza.ErrorIQ {
		return false, nil
	}
	k := exchangeKey{from: iq.To.String(), to: iq.From.String(), id: iq.ID}
	e.mu.Lock()
	ch, ok := e.pending[k]
	e.mu.Unlock()
	if !ok {
		return false, nil
	}
	var raw []byte
	if payload != nil {
		var err error
		raw, err = xmlenc.Append(nil, payload, ns.Client)
		if err != nil {
			return false, fmt.Errorf("host: reading IQ answer: %w", err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pending[k] != ch {
		// Taken by a concurrent Receive or abandoned meanwhile.
		return false, nil
	}
	delete(e.pending, k)
	// Deliver while holding the lock (ch has room for the one answer): once
	// Exchange has forgotten the request under the same lock, the answer is
	// either already in ch or never taken, so a consumed answer cannot be
	// lost to an Exchange whose context just ended.
	ch <- Response{IQ: iq, Payload: raw}
	return true, nil
}

// Pending returns the number of requests waiting for an answer.
func (e *Exchange) Pending() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.pending)
}
