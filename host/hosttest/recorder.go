package hosttest

import (
	"context"
	"encoding/xml"
	"slices"
	"sync"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
)

// Delivery is one stanza handed to a Recorder.
type Delivery struct {
	// To is the JID the stanza was routed to.
	To jid.JID
	// Stanza is the stanza as RouteRaw would receive it.
	Stanza []byte
}

// Recorder is an in-memory host.RawRouter that records every stanza routed
// through it and, optionally, hands each one to a function (to reach an
// in-process channel, say). It is a test double, as httptest.ResponseRecorder
// is, and is safe for concurrent use.
type Recorder struct {
	forward func(context.Context, Delivery) error

	mu      sync.Mutex
	log     []Delivery
	changed chan struct{} // closed and replaced on every delivery
}

var _ host.RawRouter = (*Recorder)(nil)

// NewRecorder returns a Recorder. If forward is not nil it is called, after
// recording, for every delivery, with a copy that it owns; its error is
// returned by Route and RouteRaw.
func NewRecorder(forward func(context.Context, Delivery) error) *Recorder {
	return &Recorder{forward: forward, changed: make(chan struct{})}
}

// Route implements host.Router.
func (r *Recorder) Route(ctx context.Context, to jid.JID, stanza xml.TokenReader) error {
	raw, err := xmlenc.Marshal(stanza, ns.Client)
	if err != nil {
		return err
	}
	return r.record(ctx, Delivery{To: to, Stanza: raw})
}

// RouteRaw implements host.RawRouter. It copies raw.
func (r *Recorder) RouteRaw(ctx context.Context, to jid.JID, raw []byte) error {
	return r.record(ctx, Delivery{To: to, Stanza: slices.Clone(raw)})
}

func (r *Recorder) record(ctx context.Context, d Delivery) error {
	r.mu.Lock()
	r.log = append(r.log, d)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	if r.forward != nil {
		// forward gets its own copy: what it does with it does not
		// change the record.
		return r.forward(ctx, Delivery{To: d.To, Stanza: slices.Clone(d.Stanza)})
	}
	return nil
}

// Deliveries returns every delivery so far, oldest first. The caller owns
// the result: its stanzas are copies, which it may change.
func (r *Recorder) Deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return cloneDeliveries(r.log)
}

// cloneDeliveries returns a copy of log that shares no memory with it.
func cloneDeliveries(log []Delivery) []Delivery {
	out := make([]Delivery, len(log))
	for i, d := range log {
		out[i] = Delivery{To: d.To, Stanza: slices.Clone(d.Stanza)}
	}
	return out
}

// To returns the deliveries routed to exactly j, oldest first.
func (r *Recorder) To(j jid.JID) []Delivery {
	want := j.String()
	var out []Delivery
	for _, d := range r.Deliveries() {
		if d.To.String() == want {
			out = append(out, d)
		}
	}
	return out
}

// Wait blocks until at least n deliveries have been recorded, or ctx ends,
// and returns the deliveries so far, copied as Deliveries copies them.
func (r *Recorder) Wait(ctx context.Context, n int) ([]Delivery, error) {
	for {
		r.mu.Lock()
		if len(r.log) >= n {
			out := cloneDeliveries(r.log)
			r.mu.Unlock()
			return out, nil
		}
		changed := r.changed
		r.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return r.Deliveries(), ctx.Err()
		}
	}
}

// Reset forgets every delivery recorded so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.log = nil
	r.mu.Unlock()
}
