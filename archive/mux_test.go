package archive

import (
	"bytes"
	"context"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/mux"

	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/ns"
)

// mamTokenRecorder is the write side of a mux handler's stream.
type mamTokenRecorder struct {
	xml.TokenReader
	toks []xml.Token
}

func (r *mamTokenRecorder) EncodeToken(t xml.Token) error {
	r.toks = append(r.toks, xml.CopyToken(t))
	return nil
}

func (r *mamTokenRecorder) Encode(any) error                          { panic("not used") }
func (r *mamTokenRecorder) EncodeElement(any, xml.StartElement) error { panic("not used") }

// stanzas encodes the recorded tokens as mellium's session does (with
// encoding/xml's Encoder), one top-level element at a time.
func (r *mamTokenRecorder) stanzas(t *testing.T) []hosttest.Delivery {
	t.Helper()
	var out []hosttest.Delivery
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	depth := 0
	for _, tok := range r.toks {
		require.NoError(t, enc.EncodeToken(tok))
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			if depth--; depth == 0 {
				require.NoError(t, enc.Flush())
				out = append(out, hosttest.Delivery{To: mamRequester, Stanza: bytes.Clone(buf.Bytes())})
				buf.Reset()
			}
		}
	}
	require.Zero(t, depth)
	return out
}

func TestHandleMux(t *testing.T) {
	e := newMAMEnv(t, MAMConfig{})
	e.fill(3)
	m := mux.New(ns.Client, Handle(context.Background(), e.handler, mamRequester))

	serve := func(iq string) mamAnswers {
		t.Helper()
		d := xml.NewDecoder(strings.NewReader(iq))
		d.DefaultSpace = ns.Client
		tok, err := d.Token()
		require.NoError(t, err)
		start := tok.(xml.StartElement)
		w := &mamTokenRecorder{TokenReader: d}
		require.NoError(t, m.HandleXMPP(w, &start))
		return parseMAMAnswers(t, w.stanzas(t))
	}

	// The from a client writes is not trusted: the answer goes to the
	// session, from the session's own archive.
	a := serve(`<iq type='set' id='q1' from='romeo@montague.example/orchard'><query xmlns='urn:xmpp:mam:2' queryid='m'>` +
		`<set xmlns='http://jabber.org/protocol/rsm'><max>2</max></set></query></iq>`)
	require.Equal(t, e.ids[:2], a.ids())
	require.Equal(t, "m", *a.Results[0].Result.QueryID)
	require.NotNil(t, a.Results[0].Result.Forwarded.Message)
	require.Equal(t, "message 0", a.Results[0].Result.Forwarded.Message.Body)
	require.Equal(t, 3, a.IQ.Fin.Set.Count)

	a = serve(`<iq type='get' id='q1'><query xmlns='urn:xmpp:mam:2'/></iq>`)
	require.NotNil(t, a.IQ.Query)
	require.Len(t, a.IQ.Query.Form.Fields, 8)

	a = serve(`<iq type='set' id='q1'><query xmlns='urn:xmpp:mam:2'><flip-page/></query></iq>`)
	require.Equal(t, []string{e.ids[2], e.ids[1], e.ids[0]}, a.ids())

	a = serve(`<iq type='get' id='q1'><metadata xmlns='urn:xmpp:mam:2'/></iq>`)
	require.NotNil(t, a.IQ.Metadata)
	require.Equal(t, e.ids[0], a.IQ.Metadata.Start.ID)
	require.Equal(t, e.ids[2], a.IQ.Metadata.End.ID)

	var features []string
	require.NoError(t, m.ForFeatures("", func(f info.Feature) error {
		features = append(features, f.Var)
		return nil
	}))
	require.Equal(t, MAMFeatures(), features)
}
