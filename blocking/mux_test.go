package blocking_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/mux"

	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/ns"
)

// serveMux hands one IQ to m as a mellium session would and returns what
// the handler wrote.
func serveMux(t *testing.T, m *mux.ServeMux, raw string) string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(raw))
	tok, err := d.Token()
	require.NoError(t, err)
	start := tok.(xml.StartElement)
	var out bytes.Buffer
	enc := xml.NewEncoder(&out)
	require.NoError(t, m.HandleXMPP(struct {
		xml.TokenReader
		xmlstream.Encoder
	}{d, enc}, &start))
	require.NoError(t, enc.Flush())
	return out.String()
}

func TestHandleMux(t *testing.T) {
	e := newEnv(t, nil, nil)
	m := mux.New(ns.Client, blocking.Handle(context.Background(), e.handler, balcony))

	// The from a client wrote is replaced by the session's JID: Romeo's
	// blocklist is not Juliet's.
	reply := serveMux(t, m, `<iq xmlns='jabber:client' from='romeo@montague.net/orchard' type='get' id='m1'><blocklist xmlns='urn:xmpp:blocking'/></iq>`)
	require.Contains(t, reply, `to="juliet@capulet.lit/balcony"`)
	require.Contains(t, reply, `id="m1"`)
	require.Contains(t, reply, `type="result"`)
	require.Contains(t, reply, `<item xmlns="urn:xmpp:blocking" jid="romeo@montague.net">`)

	reply = serveMux(t, m, `<iq xmlns='jabber:client' type='set' id='m2'><block xmlns='urn:xmpp:blocking'><item jid='iago@shakespeare.lit'/></block></iq>`)
	require.Contains(t, reply, `type="result"`)
	require.Equal(t, []string{"romeo@montague.net", "iago@shakespeare.lit"}, e.items(t))
	require.Len(t, e.pushes(), 2)

	reply = serveMux(t, m, `<iq xmlns='jabber:client' type='set' id='m3'><block xmlns='urn:xmpp:blocking'><item jid='@'/></block></iq>`)
	require.Contains(t, reply, `type="error"`)
	require.Contains(t, reply, `<jid-malformed`)

	reply = serveMux(t, m, `<iq xmlns='jabber:client' type='set' id='m4'><unblock xmlns='urn:xmpp:blocking'/></iq>`)
	require.Contains(t, reply, `type="result"`)
	require.Empty(t, e.items(t))

	var features []string
	require.NoError(t, m.ForFeatures("", func(f info.Feature) error {
		features = append(features, f.Var)
		return nil
	}))
	require.Equal(t, []string{blocking.NS}, features, "advertised once")
}
