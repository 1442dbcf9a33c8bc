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
// overflow (a stream error) if it can and stops.
type Queue struct {
	w        io.Writer
	max      int
	overflow []byte

	mu      sync.Mutex
	items   [][]byte
	size    int
	closing bool // no more Sends; Run stops after writing what is queued
	wake    chan struct{}
	done    chan struct{}
}

// writeTimeout bounds one write to the connection: a peer that stops
// reading is disconnected after it.
const writeTimeout = 30 * time.Second

// NewQueue returns a queue writing to w that holds at most max bytes, and
// ends the stream with overflow when that is exceeded.
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
	if q.size+len(b) > q.max {
		q.items = append(q.items, q.overflow)
		q.closing = true
		q.signal()
		return false
	}
	q.items = append(q.items, append([]byte(nil), b...))
	q.size += len(b)
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
	if len(final) > 0 {
		q.items = append(q.items, final)
	}
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
	var buf []byte
	for range q.wake {
		q.mu.Lock()
		items, closing := q.items, q.closing
		q.items, q.size = nil, 0
		q.mu.Unlock()

		buf = buf[:0]
		for _, it := range items {
			buf = append(buf, it...)
		}
		if len(buf) > 0 {
			if d, ok := q.w.(interface{ SetWriteDeadline(time.Time) error }); ok {
				_ = d.SetWriteDeadline(time.Now().Add(writeTimeout))
			}
			if _, err := q.w.Write(buf); err != nil {
				q.Close(nil)
				return err
			}
		}
		if closing {
			return nil
		}
	}
	return nil
}
