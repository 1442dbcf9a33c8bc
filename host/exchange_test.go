package host_test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
)

// JIDs and payloads from XEP-0405 §2.7 (Listings 5 and 6).
var (
	hag66        = jid.MustParse("hag66@shakespeare.example")
	hag66Laptop  = jid.MustParse("hag66@shakespeare.example/UUID-a1j/7533")
	coven        = jid.MustParse("coven@mix.shakespeare.example")
	joinID       = "E6E10350-76CF-40C6-B91B-1EA08C332FC7"
	joinRequest  = `<join xmlns="urn:xmpp:mix:core:1"><subscribe node="urn:xmpp:mix:nodes:messages"></subscribe><subscribe node="urn:xmpp:mix:nodes:presence"></subscribe></join>`
	joinResponse = `<join xmlns="urn:xmpp:mix:core:1" jid="123456#coven@mix.shakespeare.example"><subscribe node="urn:xmpp:mix:nodes:messages"></subscribe></join>`
)

func joinIQ() stanza.IQ {
	return stanza.IQ{ID: joinID, Type: stanza.SetIQ, From: hag66, To: coven}
}

// answer is the channel's answer to joinIQ.
func answer() stanza.IQ {
	return stanza.IQ{ID: joinID, Type: stanza.ResultIQ, From: coven, To: hag66}
}

func tokens(s string) xml.TokenReader { return xml.NewDecoder(strings.NewReader(s)) }

type exchangeResult struct {
	resp host.Response
	err  error
}

// startExchange runs ex.Exchange(req) in a goroutine and waits until the
// request has been routed through rec.
func startExchange(t *testing.T, ctx context.Context, ex *host.Exchange, rec *hosttest.Recorder, req stanza.IQ, payload string) <-chan exchangeResult {
	t.Helper()
	done := make(chan exchangeResult, 1)
	before := len(rec.Deliveries())
	go func() {
		resp, err := ex.Exchange(ctx, req, tokens(payload))
		done <- exchangeResult{resp, err}
	}()
	_, err := rec.Wait(ctx, before+1)
	require.NoError(t, err, "waiting for the request to be routed")
	return done
}

func TestExchangeRoundTrip(t *testing.T) {
	for _, typ := range []stanza.IQType{stanza.ResultIQ, stanza.ErrorIQ} {
		t.Run(string(typ), func(t *testing.T) {
			rec := hosttest.NewRecorder(nil)
			ex := host.NewExchange(rec)
			done := startExchange(t, t.Context(), ex, rec, joinIQ(), joinRequest)

			sent := rec.Deliveries()
			require.Len(t, sent, 1)
			require.True(t, sent[0].To.Equal(coven), "request routed to %s", sent[0].To)
			require.Equal(t, `<iq type="set" to="coven@mix.shakespeare.example" from="hag66@shakespeare.example" id="`+joinID+`">`+joinRequest+`</iq>`, string(sent[0].Stanza))
			require.Equal(t, 1, ex.Pending())

			iq := answer()
			iq.Type = typ
			consumed, err := ex.Receive(iq, tokens(joinResponse))
			require.NoError(t, err)
			require.True(t, consumed, "the exact answer is consumed")
			res := <-done
			require.NoError(t, res.err)
			require.Equal(t, typ, res.resp.IQ.Type)
			require.Equal(t, joinID, res.resp.IQ.ID)
			require.True(t, res.resp.IQ.From.Equal(coven))
			require.Equal(t, joinResponse, string(res.resp.Payload))
			require.Zero(t, ex.Pending())

			again, err := xmlenc.Marshal(res.resp.TokenReader(), ns.Client)
			require.NoError(t, err)
			require.Equal(t, joinResponse, string(again), "Response.TokenReader yields the payload")
		})
	}
}

func TestExchangeAnswerWithoutPayload(t *testing.T) {
	rec := hosttest.NewRecorder(nil)
	ex := host.NewExchange(rec)
	done := startExchange(t, t.Context(), ex, rec, joinIQ(), joinRequest)
	consumed, err := ex.Receive(answer(), nil)
	require.NoError(t, err)
	require.True(t, consumed)
	res := <-done
	require.NoError(t, res.err)
	require.Empty(t, res.resp.Payload)
	tok, err := res.resp.TokenReader().Token()
	require.Nil(t, tok)
	require.ErrorIs(t, err, io.EOF)
}

// untouched is a payload that records whether it was read.
type untouched struct{ read bool }

func (u *untouched) Token() (xml.Token, error) {
	u.read = true
	return nil, io.EOF
}

// TestExchangeIgnoresSpoofedAnswers offers answers that differ from the
// real one in one respect: none is consumed, none completes the request,
// none has its payload read, and the real answer still completes it.
func TestExchangeIgnoresSpoofedAnswers(t *testing.T) {
	tests := []struct {
		name  string
		spoof func(*stanza.IQ)
	}{
		{"from another channel", func(iq *stanza.IQ) { iq.From = jid.MustParse("spells@mix.shakespeare.example") }},
		{"from the channel's full JID", func(iq *stanza.IQ) { iq.From = jid.MustParse("coven@mix.shakespeare.example/123456") }},
		{"from a participant of the channel", func(iq *stanza.IQ) { iq.From = jid.MustParse("123456#coven@mix.shakespeare.example") }},
		{"from the service", func(iq *stanza.IQ) { iq.From = jid.MustParse("mix.shakespeare.example") }},
		{"from the user", func(iq *stanza.IQ) { iq.From = hag66 }},
		{"to a full JID of the user", func(iq *stanza.IQ) { iq.To = hag66Laptop }},
		{"to another user", func(iq *stanza.IQ) { iq.To = jid.MustParse("hag01@shakespeare.example") }},
		{"without to", func(iq *stanza.IQ) { iq.To = jid.JID{} }},
		{"another id", func(iq *stanza.IQ) { iq.ID = joinID + "x" }},
		{"id in another case", func(iq *stanza.IQ) { iq.ID = strings.ToLower(joinID) }},
		{"type get", func(iq *stanza.IQ) { iq.Type = stanza.GetIQ }},
		{"type set", func(iq *stanza.IQ) { iq.Type = stanza.SetIQ }},
	}
	rec := hosttest.NewRecorder(nil)
	ex := host.NewExchange(rec)
	done := startExchange(t, t.Context(), ex, rec, joinIQ(), joinRequest)
	for _, tc := range tests {
		iq := answer()
		tc.spoof(&iq)
		payload := &untouched{}
		consumed, err := ex.Receive(iq, payload)
		require.NoError(t, err, tc.name)
		require.False(t, consumed, "answer %s must not be consumed", tc.name)
		require.False(t, payload.read, "payload of answer %s must not be read", tc.name)
		require.Equal(t, 1, ex.Pending(), "request still pending after answer %s", tc.name)
		select {
		case res := <-done:
			t.Fatalf("answer %s completed the request: %+v", tc.name, res)
		default:
		}
	}
	consumed, err := ex.Receive(answer(), tokens(joinResponse))
	require.NoError(t, err)
	require.True(t, consumed)
	res := <-done
	require.NoError(t, res.err)
	require.Equal(t, joinResponse, string(res.resp.Payload))
	require.Zero(t, ex.Pending())

	consumed, err = ex.Receive(answer(), tokens(joinResponse))
	require.NoError(t, err)
	require.False(t, consumed, "a second answer to a completed request is not consumed")
}

func TestExchangeInFlight(t *testing.T) {
	rec := hosttest.NewRecorder(nil)
	ex := host.NewExchange(rec)
	done := startExchange(t, t.Context(), ex, rec, joinIQ(), joinRequest)

	_, err := ex.Exchange(t.Context(), joinIQ(), tokens(joinRequest))
	require.ErrorIs(t, err, host.ErrInFlight)
	require.Len(t, rec.Deliveries(), 1, "a request in flight is not routed again")
	require.Equal(t, 1, ex.Pending())

	// Another id, or another sender, is another request.
	other := joinIQ()
	other.ID = "other"
	done2 := startExchange(t, t.Context(), ex, rec, other, joinRequest)
	require.Equal(t, 2, ex.Pending())

	consumed, err := ex.Receive(answer(), nil)
	require.NoError(t, err)
	require.True(t, consumed)
	require.NoError(t, (<-done).err)
	otherAnswer := answer()
	otherAnswer.ID = "other"
	consumed, err = ex.Receive(otherAnswer, nil)
	require.NoError(t, err)
	require.True(t, consumed)
	require.NoError(t, (<-done2).err)
	require.Zero(t, ex.Pending())
}

// TestExchangeContextEnds ends the request's context before an answer
// comes: Exchange returns the context's error, forgets the request, and a
// late answer is left to the host.
func TestExchangeContextEnds(t *testing.T) {
	tests := []struct {
		name string
		want error
		// routed returns the context for the exchange and the function the
		// router calls once the request was routed.
		ctx func(t *testing.T) (context.Context, func())
	}{
		{"canceled", context.Canceled, func(t *testing.T) (context.Context, func()) {
			ctx, cancel := context.WithCancel(t.Context())
			return ctx, cancel
		}},
		{"timeout", context.DeadlineExceeded, func(t *testing.T) (context.Context, func()) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
			t.Cleanup(cancel)
			return ctx, func() {}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, routed := tc.ctx(t)
			rec := hosttest.NewRecorder(func(context.Context, hosttest.Delivery) error {
				routed()
				return nil
			})
			ex := host.NewExchange(rec)
			_, err := ex.Exchange(ctx, joinIQ(), tokens(joinRequest))
			require.ErrorIs(t, err, tc.want)
			require.Zero(t, ex.Pending(), "a request whose context ended is forgotten")
			consumed, err := ex.Receive(answer(), tokens(joinResponse))
			require.NoError(t, err)
			require.False(t, consumed, "a late answer is left to the host")

			// The same request can be sent again.
			done := startExchange(t, t.Context(), ex, rec, joinIQ(), joinRequest)
			consumed, err = ex.Receive(answer(), nil)
			require.NoError(t, err)
			require.True(t, consumed)
			require.NoError(t, (<-done).err)
		})
	}
}

func TestExchangeRouteError(t *testing.T) {
	errDown := errors.New("channel unreachable")
	ex := host.NewExchange(hosttest.NewRecorder(func(context.Context, hosttest.Delivery) error { return errDown }))
	_, err := ex.Exchange(t.Context(), joinIQ(), tokens(joinRequest))
	require.ErrorIs(t, err, errDown)
	require.Zero(t, ex.Pending())
}

func TestExchangeRejectsBadRequests(t *testing.T) {
	tests := []struct {
		name   string
		change func(*stanza.IQ)
	}{
		{"type result", func(iq *stanza.IQ) { iq.Type = stanza.ResultIQ }},
		{"type error", func(iq *stanza.IQ) { iq.Type = stanza.ErrorIQ }},
		{"no id", func(iq *stanza.IQ) { iq.ID = "" }},
		{"no from", func(iq *stanza.IQ) { iq.From = jid.JID{} }},
		{"no to", func(iq *stanza.IQ) { iq.To = jid.JID{} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := hosttest.NewRecorder(nil)
			ex := host.NewExchange(rec)
			req := joinIQ()
			tc.change(&req)
			_, err := ex.Exchange(t.Context(), req, tokens(joinRequest))
			require.Error(t, err)
			require.Empty(t, rec.Deliveries(), "a bad request is not routed")
			require.Zero(t, ex.Pending())
		})
	}
}

// TestExchangeAnswerDuringRoute answers from inside Route, as an in-process
// channel does: the answer must not be lost.
func TestExchangeAnswerDuringRoute(t *testing.T) {
	var ex *host.Exchange
	rec := hosttest.NewRecorder(func(context.Context, hosttest.Delivery) error {
		consumed, err := ex.Receive(answer(), tokens(joinResponse))
		if err == nil && !consumed {
			err = errors.New("answer not consumed")
		}
		return err
	})
	ex = host.NewExchange(rec)
	resp, err := ex.Exchange(t.Context(), joinIQ(), tokens(joinRequest))
	require.NoError(t, err)
	require.Equal(t, joinResponse, string(resp.Payload))
	require.Zero(t, ex.Pending())
}

// TestExchangeBadAnswerPayload feeds an answer whose payload does not
// parse: Receive reports the error and the request keeps waiting.
func TestExchangeBadAnswerPayload(t *testing.T) {
	rec := hosttest.NewRecorder(nil)
	ex := host.NewExchange(rec)
	done := startExchange(t, t.Context(), ex, rec, joinIQ(), joinRequest)
	consumed, err := ex.Receive(answer(), tokens(`<join xmlns="urn:xmpp:mix:core:1"><unclosed></join>`))
	require.Error(t, err)
	require.False(t, consumed)
	require.Equal(t, 1, ex.Pending())
	consumed, err = ex.Receive(answer(), tokens(joinResponse))
	require.NoError(t, err)
	require.True(t, consumed)
	require.NoError(t, (<-done).err)
}

// TestExchangeConcurrent runs many exchanges at once against a responder
// that answers each request from another goroutine.
func TestExchangeConcurrent(t *testing.T) {
	const n = 50
	var ex *host.Exchange
	var answers sync.WaitGroup
	rec := hosttest.NewRecorder(func(_ context.Context, d hosttest.Delivery) error {
		iq := answer()
		iq.ID = requestID(t, d.Stanza)
		answers.Go(func() {
			consumed, err := ex.Receive(iq, tokens(fmt.Sprintf(`<ok xmlns="urn:example" id="%s"/>`, iq.ID)))
			if err != nil || !consumed {
				t.Errorf("Receive(%s) = %v, %v", iq.ID, consumed, err)
			}
		})
		return nil
	})
	ex = host.NewExchange(rec)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req := joinIQ()
			req.ID = fmt.Sprintf("req-%d", i)
			resp, err := ex.Exchange(t.Context(), req, nil)
			if err != nil {
				t.Errorf("Exchange(%s): %v", req.ID, err)
				return
			}
			if want := fmt.Sprintf(`<ok xmlns="urn:example" id="%s"></ok>`, req.ID); string(resp.Payload) != want {
				t.Errorf("Exchange(%s) got %s, want %s", req.ID, resp.Payload, want)
			}
		})
	}
	wg.Wait()
	answers.Wait()
	require.Zero(t, ex.Pending())
}

// requestID returns the id attribute of a routed IQ.
func requestID(t *testing.T, raw []byte) string {
	d := xml.NewDecoder(strings.NewReader(string(raw)))
	tok, err := d.Token()
	if err != nil {
		t.Errorf("routed request %q: %v", raw, err)
		return ""
	}
	iq, err := stanza.NewIQ(tok.(xml.StartElement))
	if err != nil {
		t.Errorf("routed request %q: %v", raw, err)
	}
	return iq.ID
}

// TestExchangeAnswerRacingContextEnd races an answer against the end of the
// request's context, many times: whenever Receive reports the answer
// consumed (so the host routes it nowhere else), Exchange must return it
// rather than the context's error, or the answer is lost.
func TestExchangeAnswerRacingContextEnd(t *testing.T) {
	const rounds = 20000
	for i := range rounds {
		ctx, cancel := context.WithCancel(t.Context())
		routed := make(chan struct{})
		ex := host.NewExchange(hosttest.NewRecorder(func(context.Context, hosttest.Delivery) error {
			close(routed)
			return nil
		}))
		done := make(chan error, 1)
		go func() {
			_, err := ex.Exchange(ctx, joinIQ(), nil)
			done <- err
		}()
		<-routed
		consumedc := make(chan bool, 1)
		go func() {
			consumed, err := ex.Receive(answer(), nil)
			if err != nil {
				t.Errorf("Receive: %v", err)
			}
			consumedc <- consumed
		}()
		cancel()
		err, consumed := <-done, <-consumedc
		if consumed {
			require.NoError(t, err, "round %d: Receive consumed the answer, so Exchange must return it", i)
		} else {
			require.ErrorIs(t, err, context.Canceled, "round %d: the answer was not consumed", i)
		}
		require.Zero(t, ex.Pending(), "round %d", i)
	}
}
