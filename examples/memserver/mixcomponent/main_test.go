package main

import (
	"context"
	"encoding/xml"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/examples/internal/syncbuf"
	"github.com/mixpam/mixpam/examples/memserver/internal/component"
)

// TestServesAsComponent runs the MIX service against the memserver's
// XEP-0114 acceptor: the handshake succeeds, the banner says so, a channel
// created through the stream is answered on it, and the service stops
// when its context ends.
func TestServesAsComponent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var out syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-server", ln.Addr().String(), "-domain", "mix.localhost", "-secret", "s3"}, &out, io.Discard)
	}()
	conn, err := ln.Accept()
	require.NoError(t, err)
	defer conn.Close()
	stream, err := component.Accept(ctx, conn, component.Config{Secrets: map[string]string{"mix.localhost": "s3"}, Timeout: 5 * time.Second})
	require.NoError(t, err)
	require.Equal(t, "mix.localhost", stream.Domain.String())
	_, err = conn.Write(stream.Ready)
	require.NoError(t, err)

	_, err = io.WriteString(conn, `<iq type="set" id="c1" from="alice@localhost/a" to="mix.localhost"><create xmlns="urn:xmpp:mix:core:1" channel="coven"/></iq>`)
	require.NoError(t, err)
	answer, err := stream.Reader.Next()
	require.NoError(t, err)
	require.Equal(t, "iq", answer.Start.Name.Local)
	require.Equal(t, "result", answer.Attr("type"))
	require.Equal(t, "c1", answer.Attr("id"))
	require.Equal(t, "alice@localhost/a", answer.Attr("to"))
	create, ok := answer.FirstChild()
	require.True(t, ok)
	require.Equal(t, xmlName("urn:xmpp:mix:core:1", "create"), create.Name)
	require.True(t, strings.Contains(out.String(), "mix.localhost connected"), "banner: %q", out.String())

	cancel()
	require.NoError(t, <-done)
}

func xmlName(space, local string) xml.Name { return xml.Name{Space: space, Local: local} }
