package wire

import (
	"bytes"
	"io"
	"testing"
)

// countingWriter discards what it is given and reports each write's length.
type countingWriter chan int

func (w countingWriter) Write(b []byte) (int, error) {
	w <- len(b)
	return len(b), nil
}

// BenchmarkQueueSend queues bursts of 8 stanzas of 500 bytes and waits until
// Run has written them, as a session's queue works under paced traffic, and
// a flood that Run drains as fast as it can; against copying the stanza
// once (the least a queue that may not keep the caller's bytes does). ns/op
// and B/op are per stanza.
func BenchmarkQueueSend(b *testing.B) {
	raw := bytes.Repeat([]byte("x"), 500)
	const burst = 8
	b.Run("queue-bursts", func(b *testing.B) {
		w := make(countingWriter, 64)
		q := NewQueue(w, 1<<30, nil)
		go func() { _ = q.Run() }()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if !q.Send(raw) {
				b.Fatal("refused")
			}
			if i%burst == burst-1 {
				for written := 0; written < burst*len(raw); {
					written += <-w
				}
			}
		}
		go func() {
			for range w { // what is left of the last burst
			}
		}()
		q.Close(nil)
		<-q.Done()
		close(w)
	})
	b.Run("queue-flood", func(b *testing.B) {
		q := NewQueue(io.Discard, 1<<30, nil)
		go func() { _ = q.Run() }()
		b.ReportAllocs()
		for b.Loop() {
			if !q.Send(raw) {
				b.Fatal("refused")
			}
		}
		q.Close(nil)
		<-q.Done()
	})
	b.Run("baseline-bytecopy", func(b *testing.B) {
		buf := make([]byte, 0, 1024)
		b.ReportAllocs()
		for b.Loop() {
			buf = append(buf[:0], raw...)
		}
	})
}
