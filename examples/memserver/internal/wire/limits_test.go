package wire_test

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/stream"

	"github.com/mixpam/mixpam/examples/memserver/internal/wire"
)

// countingReader counts the bytes the reader took from the connection.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func requireStreamError(t *testing.T, err error, cond stream.Error) *wire.Error {
	t.Helper()
	var se *wire.Error
	require.True(t, errors.As(err, &se), "want a stream error, got %v", err)
	require.Equal(t, cond.Err, se.Cond.Err, se.Error())
	return se
}

// TestLimitsCheckedWhileReading sends elements beyond the depth and token
// limits, far below the size limit: each is refused with policy-violation
// after the reader took only a small prefix of it (the limits are checked
// as the element arrives, not once it is complete).
func TestLimitsCheckedWhileReading(t *testing.T) {
	lim := wire.Limits{Bytes: 1 << 20, Depth: 16, Tokens: 200}
	for _, tc := range []struct {
		name, input string
		ok          bool
	}{
		{"30,000 levels", "<message>" + strings.Repeat("<a>", 30000) + strings.Repeat("</a>", 30000) + "</message>", false},
		{"depth at the limit", "<message>" + strings.Repeat("<a>", 15) + strings.Repeat("</a>", 15) + "</message>", true},
		{"depth one over", "<message>" + strings.Repeat("<a>", 16) + strings.Repeat("</a>", 16) + "</message>", false},
		{"many siblings", "<message>" + strings.Repeat("<a/>", 30000) + "</message>", false},
		{"many text runs", "<message>" + strings.Repeat("x<a/>", 30000) + "</message>", false},
		{"many attributes", "<message" + attrs(30000) + "/>", false},
		{"many attributes inside", "<message><x" + attrs(30000) + "/></message>", false},
		{"tokens at the limit", "<message>" + strings.Repeat("<a/>", 99) + "</message>", true}, // 1 + 99×2 + 1
		{"tokens one over", "<message>" + strings.Repeat("<a/>", 99) + "x</message>", false},
		{"attributes at the limit", "<message" + attrs(198) + "/>", true}, // 1 + 198 + 1
		{"attributes one over", "<message" + attrs(199) + "/>", false},
		{"equals signs in values and CDATA are not attributes", "<message a='" + strings.Repeat("=", 500) + "' b=\"" + strings.Repeat("'=", 500) + "\"><body><![CDATA[" + strings.Repeat("<x a=1 b='2'>]", 100) + "]]]></body></message>", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &countingReader{r: strings.NewReader(shortHeader + tc.input + "</stream:stream>")}
			r := wire.NewReader(src, lim)
			_, err := r.Header()
			require.NoError(t, err)
			_, err = r.Next()
			if tc.ok {
				require.NoError(t, err)
				return
			}
			se := requireStreamError(t, err, stream.PolicyViolation)
			require.NotContains(t, se.Text, "large", "refused by a depth or token limit, not the size limit")
			// The reader buffers at most 4 KiB beyond what the decoder took.
			require.Less(t, src.n, 12<<10, "the reader read %d of %d bytes before refusing", src.n, len(tc.input))
		})
	}
}

func attrs(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(" a")
		b.WriteString(strings.Repeat("b", i%7))
		b.WriteString(string(rune('0' + i%10)))
		b.WriteString(string(rune('a' + i/10%26)))
		b.WriteString(string(rune('a' + i/260%26)))
		b.WriteString(string(rune('a' + i/6760%26)))
		b.WriteString("=''")
	}
	return b.String()
}

// TestSetLimits widens the limits between elements, as after SASL.
func TestSetLimits(t *testing.T) {
	el := "<message>" + strings.Repeat("<a>", 10) + strings.Repeat("</a>", 10) + "</message>"
	r := wire.NewReader(strings.NewReader(shortHeader+el+el), wire.Limits{Depth: 4})
	_, err := r.Header()
	require.NoError(t, err)
	_, err = r.Next()
	requireStreamError(t, err, stream.PolicyViolation)

	r = wire.NewReader(strings.NewReader(shortHeader+"<a/>"+el), wire.Limits{Depth: 4})
	_, err = r.Header()
	require.NoError(t, err)
	_, err = r.Next()
	require.NoError(t, err)
	r.SetLimits(wire.Limits{Depth: 11})
	_, err = r.Next()
	require.NoError(t, err)
}

// loopback returns both ends of a TCP connection on loopback.
func loopback(t *testing.T) (server, client net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	client, err = net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	server, err = l.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { _ = server.Close(); _ = client.Close() })
	return server, client
}

// TestElementTimeout: once an element has started, it must be complete
// within the timeout, or the stream ends with connection-timeout; an
// element sent in one go passes.
func TestElementTimeout(t *testing.T) {
	server, client := loopback(t)
	r := wire.NewReader(server, wire.Limits{})
	r.SetElementTimeout(server, 100*time.Millisecond)
	_, err := io.WriteString(client, shortHeader+"<presence/><message><body>never finished")
	require.NoError(t, err)
	_, err = r.Header()
	require.NoError(t, err)
	_, err = r.Next()
	require.NoError(t, err)
	requireStreamError(t, nextWithin(t, r, 10*time.Second), stream.ConnectionTimeout)
}

// nextWithin runs r.Next, failing the test if it blocks longer than d.
func nextWithin(t *testing.T, r *wire.Reader, d time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := r.Next()
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		r.Interrupt()
		t.Fatalf("Next still blocked after %v", d)
		return nil
	}
}

// TestElementTimeoutIdle: between elements there is no timeout; the
// deadline of the previous element is cleared.
func TestElementTimeoutIdle(t *testing.T) {
	server, client := loopback(t)
	r := wire.NewReader(server, wire.Limits{})
	r.SetElementTimeout(server, 50*time.Millisecond)
	_, err := io.WriteString(client, shortHeader+"<presence/>")
	require.NoError(t, err)
	_, err = r.Header()
	require.NoError(t, err)
	_, err = r.Next()
	require.NoError(t, err)
	// The client stays idle for several timeouts, then sends.
	timer := time.AfterFunc(300*time.Millisecond, func() { _, _ = io.WriteString(client, "<presence/>") })
	defer timer.Stop()
	_, err = r.Next()
	require.NoError(t, err)
}

// TestInterrupt unblocks a Next waiting for data, and later calls fail too.
func TestInterrupt(t *testing.T) {
	server, client := loopback(t)
	r := wire.NewReader(server, wire.Limits{})
	r.SetElementTimeout(server, time.Hour)
	_, err := io.WriteString(client, shortHeader)
	require.NoError(t, err)
	_, err = r.Header()
	require.NoError(t, err)
	timer := time.AfterFunc(10*time.Millisecond, r.Interrupt)
	defer timer.Stop()
	require.ErrorIs(t, nextWithin(t, r, 10*time.Second), wire.ErrInterrupted)
	_, err = r.Next()
	require.ErrorIs(t, err, wire.ErrInterrupted)
}
