package xmlenc_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"

	"github.com/mixpam/mixpam/internal/xmlenc"
)

func TestEncoderTokens(t *testing.T) {
	for _, tc := range []struct {
		name, raw, want string
	}{
		{
			name: "stanza in the stream's namespace",
			raw:  `<iq type="result" id="1"><query xmlns="jabber:iq:roster" ver="2"><item jid="a@b"></item></query></iq>`,
			want: `<iq type="result" id="1"><query xmlns="jabber:iq:roster" ver="2"><item xmlns="jabber:iq:roster" jid="a@b"></item></query></iq>`,
		},
		{
			name: "prefix declarations dropped, prefixed attributes kept",
			raw:  `<iq><x xmlns="urn:example" xmlns:p="urn:example:p" p:a="1"></x></iq>`,
			// The Encoder names the prefix itself.
			want: `<iq><x xmlns="urn:example" xmlns:_="urn:example:p" _:a="1"></x></iq>`,
		},
		{
			name: "prefixed element",
			raw:  `<iq><p:x xmlns:p="urn:example"></p:x></iq>`,
			want: `<iq><x xmlns="urn:example"></x></iq>`,
		},
		{
			name: "element in no namespace keeps xmlns=\"\"",
			raw:  `<iq><a xmlns="urn:x"><b xmlns=""></b></a></iq>`,
			want: `<iq><a xmlns="urn:x"><b xmlns=""></b></a></iq>`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			enc := xml.NewEncoder(&out)
			_, err := xmlstream.Copy(enc, xmlenc.EncoderTokens([]byte(tc.raw)))
			require.NoError(t, err)
			require.NoError(t, enc.Flush())
			require.Equal(t, tc.want, out.String(), "each namespace declared once")
			// The written XML means what raw meant.
			require.Equal(t, resolved(t, tc.raw), resolved(t, out.String()))
		})
	}
}

func TestEncoderTokensMalformed(t *testing.T) {
	_, err := xmlstream.Copy(xml.NewEncoder(io.Discard), xmlenc.EncoderTokens([]byte(`<iq><a></iq>`)))
	require.Error(t, err)
}

// resolved returns raw's elements and attributes with namespaces resolved
// and namespace declarations left out.
func resolved(t *testing.T, raw string) []string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(raw))
	var out []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		if start, ok := tok.(xml.StartElement); ok {
			out = append(out, start.Name.Space+" "+start.Name.Local)
			for _, a := range start.Attr {
				if a.Name.Space != "xmlns" && (a.Name.Space != "" || a.Name.Local != "xmlns") {
					out = append(out, "@"+a.Name.Space+" "+a.Name.Local+"="+a.Value)
				}
			}
		}
	}
}

func TestGuard(t *testing.T) {
	t.Run("nil reader is empty", func(t *testing.T) {
		tok, err := xmlenc.Guard(nil).Token()
		require.Nil(t, tok)
		require.ErrorIs(t, err, io.EOF)
	})
	t.Run("no progress", func(t *testing.T) {
		stuck := xmlstream.ReaderFunc(func() (xml.Token, error) { return nil, nil })
		tok, err := xmlenc.Guard(stuck).Token()
		require.Nil(t, tok)
		require.ErrorIs(t, err, io.ErrNoProgress)
	})
	t.Run("passes tokens and errors through", func(t *testing.T) {
		r := xmlenc.Guard(xml.NewDecoder(strings.NewReader(`<a>x</a>`)))
		var toks []xml.Token
		for {
			tok, err := r.Token()
			if err != nil {
				require.ErrorIs(t, err, io.EOF)
				break
			}
			toks = append(toks, xml.CopyToken(tok))
		}
		require.Len(t, toks, 3)
	})
	t.Run("a token with an error", func(t *testing.T) {
		r := xmlenc.Guard(xmlstream.ReaderFunc(func() (xml.Token, error) { return xml.CharData("x"), io.EOF }))
		tok, err := r.Token()
		require.Equal(t, xml.CharData("x"), tok)
		require.ErrorIs(t, err, io.EOF)
	})
}
