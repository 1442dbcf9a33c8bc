//go:build interop

package interop

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/examples/internal/syncbuf"
)

const (
	// domain is the XMPP domain the servers serve.
	domain = "localhost"
	// mixDomain is the domain of the built-in MIX service.
	mixDomain = "mix." + domain
	// startTimeout bounds the server's start (a TLS key is generated).
	startTimeout = 30 * time.Second
	// stopTimeout bounds the server's shutdown after SIGINT.
	stopTimeout = 15 * time.Second
)

// server is a running memserver process.
type server struct {
	addr      string            // client-to-server address
	tls       bool              // STARTTLS required (-tls auto)
	passwords map[string]string // account name → password
	log       *syncbuf.Buffer   // the server's debug log (stderr)
}

// bannerAddr finds the address in the server's "clients on ADDR" line.
var bannerAddr = regexp.MustCompile(`clients on (\S+)`)

// startServer starts the server on a free loopback port, with the accounts
// alice and bob, and stops it when the test ends, checking that it shuts
// down cleanly (and, in a race build, without a data race). With tls false
// it runs with -tls off.
func startServer(t *testing.T, tls bool) *server {
	t.Helper()
	s := &server{tls: tls, passwords: make(map[string]string), log: new(syncbuf.Buffer)}
	args := []string{"-listen", "127.0.0.1:0", "-log", "debug"}
	if !tls {
		args = append(args, "-tls", "off")
	}
	for _, name := range []string{"alice", "bob"} {
		s.passwords[name] = rand.Text()
		args = append(args, "-user", name+":"+s.passwords[name])
	}

	stdout, w, err := os.Pipe()
	require.NoError(t, err)
	cmd := exec.Command(serverBinary, args...)
	cmd.Stdout, cmd.Stderr = w, s.log
	require.NoError(t, cmd.Start())
	_ = w.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		s.stop(t, cmd, exited)
		if t.Failed() {
			t.Logf("server log (%s):\n%s", s.addr, s.log)
		}
	})

	addr := make(chan string, 1)
	go readBanner(stdout, addr)
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	select {
	case s.addr = <-addr:
	case err := <-exited:
		exited <- err // for stop
		t.Fatalf("the server exited at start (%v):\n%s", err, s.log)
	case <-ctx.Done():
		t.Fatalf("the server printed no address within %v:\n%s", startTimeout, s.log)
	}
	require.NotEmpty(t, s.addr, "banner without an address")
	require.NoError(t, waitAccepting(ctx, s.addr), "server at %s", s.addr)
	return s
}

// readBanner sends the address the server prints, then reads stdout until
// the server exits.
func readBanner(stdout *os.File, addr chan<- string) {
	defer stdout.Close()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if m := bannerAddr.FindStringSubmatch(sc.Text()); m != nil {
			addr <- m[1]
			break
		}
	}
	_, _ = io.Copy(io.Discard, stdout)
	close(addr) // an empty address if the banner had none
}

// waitAccepting polls addr until it accepts a TCP connection or ctx ends.
func waitAccepting(ctx context.Context, addr string) error {
	var d net.Dialer
	retry := time.NewTicker(10 * time.Millisecond)
	defer retry.Stop()
	for {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return conn.Close()
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-retry.C:
		}
	}
}

// stop interrupts the server and requires a clean exit within stopTimeout.
func (s *server) stop(t *testing.T, cmd *exec.Cmd, exited chan error) {
	t.Helper()
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the server did not exit cleanly (%v); exit status 66 is a data race found by the race detector", err)
		}
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		<-exited
		t.Errorf("the server did not stop within %v of SIGINT", stopTimeout)
	}
}

// users returns the --user arguments of the scenarios for the accounts
// named.
func (s *server) users(names ...string) []string {
	var args []string
	for _, n := range names {
		args = append(args, "--user", n+":"+s.passwords[n])
	}
	return args
}
