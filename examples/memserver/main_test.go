package main

import (
	"bufio"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
)

// TestRun starts the command as a user would, checks that its printout
// says how to connect, talks to the address printed, and stops it.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-tls", "off", "-user", "alice:secret", "-component", "irc.localhost=pw", "-component-listen", "127.0.0.1:0"}, w, io.Discard)
		_ = w.Close()
	}()

	var banner []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		banner = append(banner, sc.Text())
		if strings.HasPrefix(sc.Text(), "Stop with") {
			break
		}
	}
	text := strings.Join(banner, "\n")
	require.Contains(t, text, "XMPP domain localhost")
	require.Contains(t, text, "alice@localhost  password secret")
	require.Contains(t, text, "MIX service: mix.localhost")
	require.Contains(t, text, "for irc.localhost")
	addr := regexp.MustCompile(`clients on (\S+)`).FindStringSubmatch(text)
	require.Len(t, addr, 2, text)

	got := testclient.Raw(t, addr[1], `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'></stream:stream>`)
	require.Contains(t, got, "<mechanism>SCRAM-SHA-256</mechanism>")

	cancel()
	require.NoError(t, <-done)
	go func() { _, _ = io.Copy(io.Discard, out) }()
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{nil, true},
		{[]string{"-tls", "maybe"}, false},
		{[]string{"-log", "trace"}, false},
		{[]string{"-user", "alice"}, false},
		{[]string{"-user", "alice:a", "-user", "alice:b"}, false},
		{[]string{"-component", "irc.localhost"}, false},
		{[]string{"-max-stanza", "10"}, false},
		{[]string{"-max-resources", "1", "-max-roster-items", "5", "-max-blocklist-items", "5"}, true},
		{[]string{"-max-resources", "0"}, false},
		{[]string{"-max-roster-items", "0"}, false},
		{[]string{"-max-blocklist-items", "-1"}, false},
		{[]string{"-max-queued", "1000"}, false}, // below -max-stanza
		{[]string{"-max-roster-item-bytes", "100"}, false},
		{[]string{"-max-blocklist-item-bytes", "100"}, false},
		{[]string{"extra"}, false},
		{[]string{"-store", "disk"}, false},
		{[]string{"-store", "postgres"}, false},
		{[]string{"-pg", "postgres://127.0.0.1/x"}, false},
		{[]string{"-store", "postgres", "-pg", "postgres://127.0.0.1/x"}, true},
		{[]string{"-archive-max", "-1"}, false},
		{[]string{"-archive-max", "1000", "-archive-max-age", "720h"}, true},
		{[]string{"-max-stanza-unauth", "16384", "-max-depth", "32", "-max-tokens", "1000", "-stanza-timeout", "10s",
			"-negotiation-timeout", "5s", "-max-unauth", "10", "-max-unauth-per-addr", "2", "-auth-failures", "5",
			"-auth-failures-account", "50", "-auth-ban", "1h"}, true},
		{[]string{"-max-stanza-unauth", "100"}, false},
		{[]string{"-max-depth", "1"}, false},
		{[]string{"-max-tokens", "10"}, false},
		{[]string{"-stanza-timeout", "0s"}, false},
		{[]string{"-negotiation-timeout", "-1s"}, false},
		{[]string{"-max-unauth", "0"}, false},
		{[]string{"-max-unauth-per-addr", "0"}, false},
		{[]string{"-auth-failures", "0"}, false},
		{[]string{"-auth-failures-account", "0"}, false},
		{[]string{"-auth-ban", "0s"}, false},
	} {
		o, err := parseFlags(tc.args, io.Discard)
		if tc.ok {
			require.NoError(t, err, tc.args)
			require.Equal(t, "mix.localhost", o.mix)
		} else {
			require.Error(t, err, tc.args)
		}
	}
}
