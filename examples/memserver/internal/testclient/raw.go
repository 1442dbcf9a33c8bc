package testclient

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Raw connects to addr, writes send, then reads until the server closes the
// connection (or Timeout passes) and returns everything it read. It is for
// tests of what the server does with hostile bytes.
func Raw(t testing.TB, addr, send string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, Timeout)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(Timeout)))
	_, err = io.WriteString(conn, send)
	require.NoError(t, err)
	got, err := io.ReadAll(conn)
	if errors.Is(err, syscall.ECONNRESET) {
		// The server closed with our bytes still unread: the kernel resets
		// the connection, after what was sent before.
		err = nil
	}
	require.NoError(t, err, "the server did not close the connection; read %q", got)
	return string(got)
}
