package mixservice

import (
	"context"
	"sync"
	"time"

	"github.com/mixpam/mixpam/host"
)

// routeTimeout bounds the routing of one stanza to all its recipients.
const routeTimeout = 10 * time.Second

// outbox is the queue of stanzas one channel (or the service) sends, in the
// order its state changed. Stanzas are queued with the service's lock held,
// and routed without it by whichever Deliver call finds the outbox idle,
// until the queue is empty: a Deliver that finds another one routing leaves
// its stanzas to it and returns, so the Router may call Deliver from inside
// Route without deadlock and without reordering.
type outbox struct {
	mu      sync.Mutex
	queue   []outgoing
	routing bool
}

// len returns the number of stanzas waiting.
func (b *outbox) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// put queues the stanzas that have recipients.
func (b *outbox) put(stanzas ...outgoing) {
	b.mu.Lock()
	for _, o := range stanzas {
		if len(o.to) > 0 {
			b.queue = append(b.queue, o)
		}
	}
	b.mu.Unlock()
}

// flush routes the queued stanzas with route, oldest first, until the queue
// is empty, unless another flush is already doing so.
func (b *outbox) flush(ctx context.Context, route func(context.Context, outgoing, []byte) []byte) {
	b.mu.Lock()
	if b.routing {
		b.mu.Unlock()
		return
	}
	b.routing = true
	var buf []byte
	for len(b.queue) > 0 {
		batch := b.queue
		b.queue = nil
		b.mu.Unlock()
		for i := range batch {
			buf = route(ctx, batch[i], buf)
			batch[i] = outgoing{} // let the stanza go
		}
		b.mu.Lock()
	}
	b.routing = false
	b.mu.Unlock()
}

// route sends o to each of its recipients through the Router, reusing buf
// (which it returns, grown) for the bytes. Failures are logged: they are
// the recipient's server's to report.
func (s *Service) route(ctx context.Context, o outgoing, buf []byte) []byte {
	ctx, cancel := context.WithTimeout(ctx, routeTimeout)
	defer cancel()
	for _, to := range o.to {
		buf = o.appendTo(buf[:0], to)
		if err := host.RouteBytes(ctx, s.router, to.jid, buf); err != nil {
			s.log.DebugContext(ctx, "mixservice: routing failed", "to", to.jid, "err", err)
		}
	}
	return buf
}
