package wire

import (
	"io"
	"sync"
	"time"
)

// Queue is the send queue of one stream: any goroutine may hand it bytes
// without blocking, and one goroutine (Run) writes them to the connection in
// order. A peer that does not read cannot stall the server: when more than
// the queue's byte limit is waiting, the queue gives up on the stream, sends
// overflow (a stream error) if it can and stops. Queued bytes are copied
// once, into a buffer that Run writes in one call and then reuses.
type Queue struct {
	w        io.Writer
	max      int
	overflow []byte

	mu      sync.Mutex
	pending []byte // the queued bytes, in order
	writing int    // bytes taken by Run and not yet written: they count against max too
	closing bool   // no more Sends; Run stops after writing what is queued
	wake    chan struct{}
	done    chan struct{}
}

// writeTimeout bounds one write to the connection: a peer that stops
// reading is disconnected after it.
const writeTimeout = 30 * time.Second

// NewQueue returns a queue writing to w that holds at most max bytes
// (queued, or taken for a write that has not returned), and ends the stream
// with overflow when that is exceeded.
func NewQueue(w io.Writer, max int, overflow []byte) *Queue {
	return &Queue{
		w:        w,
		max:      max,
		overflow: overflow,
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
}

// Send queues a copy of b and reports whether it was accepted: false when
// the queue is closing or b would exceed the limit (the stream is then
// closed with the overflow error).
func (q *Queue) Send(b []byte) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing {
		return false
	}
	if q.writing+len(q.pending)+len(b) > q.max {
		q.pending = append(q.pending, q.overflow...)
		q.closing = true
		q.signal()
		return false
	}
	q.pending = append(q.pending, b...)
	q.signal()
	return true
}

// Close queues final (the stream's last bytes, e.g. a stream error and the
// closing tag) and makes Run return once everything queued is written.
// Later calls, and Sends after it, do nothing.
func (q *Queue) Close(final []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing {
		return
	}
	q.pending = append(q.pending, final...)
	q.closing = true
	q.signal()
}

// Done is closed when Run has returned.
func (q *Queue) Done() <-chan struct{} { return q.done }

func (q *Queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Run writes queued bytes until the queue is closed and drained, or a write
// fails. It must be called exactly once.
func (q *Queue) Run() error {
	defer close(q.done)
	// Two buffers take turns: Sends append to one while the other is
	// written, so that queueing a stanza is one copy and, once the buffers
	// have grown, no allocation.
	var spare []byte
	for range q.wake {
		q.mu.Lock()
		buf, closing := q.pending, q.closing
		q.pending = spare[:0]
		q.writing = len(buf)
		q.mu.Unlock()

		if len(buf) > 0 {
			if d, ok := q.w.(interface{ SetWriteDeadline(time.Time) error }); ok {
				_ = d.SetWriteDeadline(time.Now().Add(writeTimeout))
			}
			if _, err := q.w.Write(buf); err != nil {
				q.Close(nil)
				return err
			}
			q.mu.Lock()
			q.writing = 0
			q.mu.Unlock()
		}
		if closing {
			return nil
		}
		spare = buf
		if cap(spare) > maxSpare {
			spare = nil // one burst must not pin its memory for ever
		}
	}
	return nil
}

// maxSpare is the largest buffer Run keeps for the next turn.
const maxSpare = 64 << 10
