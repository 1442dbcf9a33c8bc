package wire_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/examples/memserver/internal/wire"
)

func TestQueueWritesInOrderThenFinal(t *testing.T) {
	var out bytes.Buffer
	q := wire.NewQueue(&out, 100, []byte("<overflow/>"))
	require.True(t, q.Send([]byte("<a/>")))
	require.True(t, q.Send([]byte("<b/>")))
	q.Close([]byte("</end>"))
	require.False(t, q.Send([]byte("<late/>")))
	require.NoError(t, q.Run())
	require.Equal(t, "<a/><b/></end>", out.String())
	<-q.Done()
}

func TestQueueOverflowEndsTheStream(t *testing.T) {
	var out bytes.Buffer
	q := wire.NewQueue(&out, 10, []byte("<overflow/>"))
	require.True(t, q.Send([]byte("<a/>")))
	require.False(t, q.Send([]byte(strings.Repeat("x", 20))))
	require.False(t, q.Send([]byte("<b/>")))
	require.NoError(t, q.Run())
	require.Equal(t, "<a/><overflow/>", out.String())
}

// stalledWriter blocks every Write until release is closed, and reports
// each write it starts.
type stalledWriter struct {
	started chan int
	release chan struct{}
}

func (w *stalledWriter) Write(b []byte) (int, error) {
	w.started <- len(b)
	<-w.release
	return len(b), nil
}

// Bytes taken for a write that has not returned count against the limit:
// a peer that stops reading holds at most max bytes, not max in the write
// plus max more queued (found by review).
func TestQueueLimitCountsBytesBeingWritten(t *testing.T) {
	const max = 1000
	w := &stalledWriter{started: make(chan int, 10), release: make(chan struct{})}
	q := wire.NewQueue(w, max, []byte("<overflow/>"))
	go func() { _ = q.Run() }()
	require.True(t, q.Send(bytes.Repeat([]byte("a"), max)))
	require.Equal(t, max, <-w.started, "Run writes the first max bytes, and the peer does not read")
	require.False(t, q.Send([]byte("b")), "one more byte is over the limit while the write is under way")
	close(w.release)
	<-q.Done()
}
