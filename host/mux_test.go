package host_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/ns"
)

var pingRoute = host.IQRoute{Type: stanza.GetIQ, Name: xml.Name{Space: "urn:xmpp:ping", Local: "ping"}}

// serveOne runs one IQ through a mux built with host.Mux and returns what
// was written and the handler's error.
func serveOne(t *testing.T, ctx context.Context, h host.IQHandler, session jid.JID, iq string) (string, error) {
	t.Helper()
	m := mux.New(ns.Client, host.Mux(ctx, h, session, pingRoute))
	d := xml.NewDecoder(strings.NewReader(iq))
	d.DefaultSpace = ns.Client
	tok, err := d.Token()
	require.NoError(t, err)
	start := tok.(xml.StartElement)
	var out bytes.Buffer
	e := xml.NewEncoder(&out)
	err = m.HandleXMPP(struct {
		xml.TokenReader
		xmlstream.Encoder
	}{d, e}, &start)
	require.NoError(t, e.Flush())
	return out.String(), err
}

func TestMux(t *testing.T) {
	session := jid.MustParse("juliet@capulet.lit/balcony")
	const ping = `<iq type="get" id="p1" from="romeo@montague.lit/orchard"><ping xmlns="urn:xmpp:ping"/></iq>`

	t.Run("from is the session's, the reply may come later", func(t *testing.T) {
		var from jid.JID
		h := host.IQHandlerFunc(func(ctx context.Context, iq stanza.IQ, _ xml.TokenReader, reply host.ReplyFunc) error {
			from = iq.From
			go func() { _ = reply(ctx, iq.From, []byte(`<iq type="result" id="p1" to="juliet@capulet.lit/balcony"/>`)) }()
			return nil
		})
		out, err := serveOne(t, t.Context(), h, session, ping)
		require.NoError(t, err)
		require.True(t, from.Equal(session), "served as from %s", from)
		require.Contains(t, out, `type="result"`)
	})
	t.Run("not mine is service-unavailable", func(t *testing.T) {
		h := host.IQHandlerFunc(func(context.Context, stanza.IQ, xml.TokenReader, host.ReplyFunc) error {
			return host.ErrNotHandled
		})
		out, err := serveOne(t, t.Context(), h, session, ping)
		require.NoError(t, err)
		require.Contains(t, out, `<service-unavailable`)
	})
	t.Run("the session ends while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		h := host.IQHandlerFunc(func(context.Context, stanza.IQ, xml.TokenReader, host.ReplyFunc) error { return nil })
		out, err := serveOne(t, ctx, h, session, ping)
		require.ErrorIs(t, err, context.Canceled)
		require.Empty(t, out)
	})
	t.Run("a server-to-server stream keeps from", func(t *testing.T) {
		var from jid.JID
		h := host.IQHandlerFunc(func(ctx context.Context, iq stanza.IQ, _ xml.TokenReader, reply host.ReplyFunc) error {
			from = iq.From
			return reply(ctx, iq.From, []byte(`<iq type="result" id="p1"/>`))
		})
		_, err := serveOne(t, t.Context(), h, jid.JID{}, ping)
		require.NoError(t, err)
		require.Equal(t, "romeo@montague.lit/orchard", from.String())
	})
}
