package disco_test

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"

	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
)

// tokensOf decodes XML text into tokens, as a host's stream decoder would.
func tokensOf(s string) xml.TokenReader {
	return xml.NewDecoder(strings.NewReader(s))
}

// render serialises a stanza as it would be written into a client stream.
func render(t testing.TB, r xml.TokenReader) string {
	t.Helper()
	b, err := xmlenc.Marshal(r, ns.Client)
	require.NoError(t, err)
	return string(b)
}

// tokenRecorder is the writing half of an xmlstream.TokenReadEncoder that
// keeps what it is given.
type tokenRecorder struct {
	toks []xml.Token
}

func (r *tokenRecorder) EncodeToken(t xml.Token) error {
	r.toks = append(r.toks, xml.CopyToken(t))
	return nil
}

func (r *tokenRecorder) Encode(any) error { return errors.New("tokenRecorder: Encode not supported") }

func (r *tokenRecorder) EncodeElement(any, xml.StartElement) error {
	return errors.New("tokenRecorder: EncodeElement not supported")
}

// reader returns the recorded tokens as a reader.
func (r *tokenRecorder) reader() xml.TokenReader {
	toks := r.toks
	return xmlstream.ReaderFunc(func() (xml.Token, error) {
		if len(toks) == 0 {
			return nil, io.EOF
		}
		t := toks[0]
		toks = toks[1:]
		return t, nil
	})
}
