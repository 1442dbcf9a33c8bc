package roster_test

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/mux"

	"github.com/mixpam/mixpam/ns"
	"github.com/mixpam/mixpam/roster"
)

// tokenRecorder is the write side of a mux handler's stream.
type tokenRecorder struct {
	xml.TokenReader
	toks []xml.Token
}

func (r *tokenRecorder) EncodeToken(t xml.Token) error {
	r.toks = append(r.toks, xml.CopyToken(t))
	return nil
}

func (r *tokenRecorder) Encode(any) error                          { panic("not used") }
func (r *tokenRecorder) EncodeElement(any, xml.StartElement) error { panic("not used") }

func TestHandle(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	ctx := testContext(t)
	m := mux.New(ns.Client, roster.Handle(ctx, f.h, balcony))

	serve := func(stanza string) []wireIQ {
		t.Helper()
		d := xml.NewDecoder(strings.NewReader(stanza))
		d.DefaultSpace = ns.Client
		tok, err := d.Token()
		require.NoError(t, err)
		start := tok.(xml.StartElement)
		w := &tokenRecorder{TokenReader: d}
		require.NoError(t, m.HandleXMPP(w, &start))
		raw, err := encodeTokens(t, w.toks)
		requireWellFormed(t, raw)
		require.NoError(t, err)
		return []wireIQ{parseIQ(t, raw)}
	}

	// A get claiming to come from elsewhere is stamped with the session's
	// JID: it sets balcony's flag and is answered to balcony.
	got := serve(`<iq type='get' id='m1' from='juliet@example.com/garden'><query xmlns='jabber:iq:roster'><annotate xmlns='urn:xmpp:mix:roster:0'/></query></iq>`)
	require.Equal(t, "result", got[0].Type)
	require.Equal(t, "m1", got[0].ID)
	require.Equal(t, balcony.String(), got[0].To)
	require.Equal(t, "123456", got[0].item(t, coven).Channel.ParticipantID)
	require.True(t, f.flag(t, balcony))
	require.False(t, f.flag(t, garden))
	require.Empty(t, f.rec.Deliveries(), "the answer goes into the session's stream")

	// A set is answered in the stream and pushed through the router.
	got = serve(`<iq type='set' id='m2'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com'/></query></iq>`)
	require.Equal(t, "result", got[0].Type)
	require.Len(t, f.rec.Deliveries(), 3)

	got = serve(`<iq type='set' id='m3'><query xmlns='jabber:iq:roster'><item jid='coven@mix.shakespeare.example' subscription='remove'/></query></iq>`)
	require.Equal(t, "not-allowed", got[0].condition())
	require.Len(t, f.rec.Deliveries(), 3)
}

// encodeTokens writes toks with a plain xml.Encoder, as a mellium session
// would: an xmlns written twice would fail the parse.
func encodeTokens(t *testing.T, toks []xml.Token) ([]byte, error) {
	t.Helper()
	var buf strings.Builder
	e := xml.NewEncoder(&buf)
	if _, err := xmlstream.Copy(e, tokenReader(toks)); err != nil {
		return nil, err
	}
	if err := e.Flush(); err != nil {
		return nil, err
	}
	return []byte(buf.String()), nil
}

func tokenReader(toks []xml.Token) xml.TokenReader {
	return xmlstream.ReaderFunc(func() (xml.Token, error) {
		if len(toks) == 0 {
			return nil, io.EOF
		}
		tok := toks[0]
		toks = toks[1:]
		return tok, nil
	})
}

// requireWellFormed fails on an element with an attribute written twice,
// which encoding/xml's Decoder lets pass.
func requireWellFormed(t *testing.T, raw []byte) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(string(raw)))
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return
		}
		require.NoError(t, err)
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		seen := map[xml.Name]bool{}
		for _, a := range start.Attr {
			require.False(t, seen[a.Name], "%s written twice in %s", a.Name, raw)
			seen[a.Name] = true
		}
	}
}
