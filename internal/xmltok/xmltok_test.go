package xmltok

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"
)

// afterStart returns a decoder of doc past its first start element.
func afterStart(t *testing.T, doc string) *xml.Decoder {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(doc))
	tok, err := d.Token()
	require.NoError(t, err)
	require.IsType(t, xml.StartElement{}, tok)
	return d
}

func TestAttr(t *testing.T) {
	start := xml.StartElement{Name: xml.Name{Local: "item"}, Attr: []xml.Attr{
		{Name: xml.Name{Space: "urn:other", Local: "jid"}, Value: "qualified"},
		{Name: xml.Name{Local: "jid"}, Value: "romeo@example.net"},
		{Name: xml.Name{Local: "jid"}, Value: "repeated"},
		{Name: xml.Name{Local: "name"}, Value: ""},
	}}
	for _, tc := range []struct {
		local, want string
		ok          bool
	}{
		{"jid", "romeo@example.net", true},
		{"name", "", true},
		{"subscription", "", false},
	} {
		t.Run(tc.local, func(t *testing.T) {
			got, ok := Attr(start, tc.local)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.want, AttrValue(start, tc.local))
		})
	}
}

func TestSpace(t *testing.T) {
	for _, tc := range []struct {
		name   string
		start  xml.StartElement
		parent string
		want   string
	}{
		{"from a decoder", xml.StartElement{Name: xml.Name{Space: "jabber:iq:roster", Local: "query"}}, "jabber:client", "jabber:iq:roster"},
		{"built with xmlns", xml.StartElement{Name: xml.Name{Local: "query"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: "jabber:iq:roster"}}}, "jabber:client", "jabber:iq:roster"},
		{"xmlns undeclared", xml.StartElement{Name: xml.Name{Local: "query"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}}}}, "jabber:client", ""},
		{"inherited", xml.StartElement{Name: xml.Name{Local: "item"}}, "jabber:iq:roster", "jabber:iq:roster"},
		{"prefix declaration is not the default", xml.StartElement{Name: xml.Name{Local: "item"}, Attr: []xml.Attr{{Name: xml.Name{Space: "xmlns", Local: "x"}, Value: "urn:x"}}}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Space(tc.start, tc.parent))
		})
	}
}

func TestSkip(t *testing.T) {
	for _, tc := range []struct {
		name, doc, next string
		err             error
	}{
		{"empty", `<a/><next/>`, "next", nil},
		{"nested", `<a>x<b><c/><b>y</b></b>z</a><next/>`, "next", nil},
		{"cut", `<a><b></b></a>`, "", io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := afterStart(t, tc.doc)
			var r xml.TokenReader = d
			if tc.err != nil {
				r = cut(d, 2)
			}
			err := Skip(r)
			require.ErrorIs(t, err, tc.err)
			if tc.next != "" {
				tok, err := d.Token()
				require.NoError(t, err)
				require.Equal(t, tc.next, tok.(xml.StartElement).Name.Local, "the element's end was read, nothing after it")
			}
		})
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
		max             int
		err             error
		cutAt           int // tokens before the stream ends, if > 0
	}{
		{"plain", `<v>coven@mix.example</v><next/>`, "coven@mix.example", 64, nil, 0},
		{"empty", `<v/><next/>`, "", 64, nil, 0},
		{"pieces", `<v>a<!-- c -->b<![CDATA[<c>]]></v><next/>`, "ab<c>", 64, nil, 0},
		{"exactly max", `<v>abcd</v><next/>`, "abcd", 4, nil, 0},
		{"too long: read to the end, keep max", `<v>abc<!-- -->def</v><next/>`, "abcd", 4, ErrTooLong, 0},
		{"child element: skipped, refused", `<v>a<b>x<c/></b>c</v><next/>`, "ac", 64, ErrChild, 0},
		{"length wins over child", `<v>abcdef<b/></v><next/>`, "abcd", 4, ErrTooLong, 0},
		{"cut", `<v>abc</v>`, "", 64, io.ErrUnexpectedEOF, 1},
		{"cut in a child", `<v>a<b></b></v>`, "", 64, io.ErrUnexpectedEOF, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := afterStart(t, tc.doc)
			var r xml.TokenReader = d
			if tc.cutAt > 0 {
				r = cut(d, tc.cutAt) // the stream ends before the element does
			}
			got, err := Text(r, tc.max)
			require.ErrorIs(t, err, tc.err)
			require.Equal(t, tc.want, got)
			if tc.cutAt > 0 {
				return
			}
			tok, err := d.Token()
			require.NoError(t, err)
			require.Equal(t, "next", tok.(xml.StartElement).Name.Local, "the element's end was read, nothing after it")
		})
	}
}

// cut returns r ending with io.EOF after n tokens.
func cut(r xml.TokenReader, n int) xml.TokenReader {
	return xmlstream.ReaderFunc(func() (xml.Token, error) {
		if n == 0 {
			return nil, io.EOF
		}
		n--
		return r.Token()
	})
}

// stuck is a reader that returns neither a token nor an error.
type stuck struct{}

func (stuck) Token() (xml.Token, error) { return nil, nil }

// Readers that make no progress fail instead of spinning.
func TestNoProgress(t *testing.T) {
	require.ErrorIs(t, Skip(stuck{}), io.ErrNoProgress)
	_, err := Text(stuck{}, 8)
	require.ErrorIs(t, err, io.ErrNoProgress)
}

// Deep nesting costs no stack: a million levels are skipped.
func TestSkipDeep(t *testing.T) {
	const depth = 1_000_000
	open := xml.StartElement{Name: xml.Name{Local: "a"}}
	toks := make([]xml.Token, 0, 2*depth)
	for range depth {
		toks = append(toks, open)
	}
	for range depth + 1 { // the skipped element's own end too
		toks = append(toks, open.End())
	}
	toks = append(toks, xml.CharData("after"))
	require.NoError(t, Skip(xmlstream.ReaderFunc(func() (xml.Token, error) {
		if len(toks) == 0 {
			return nil, io.EOF
		}
		tok := toks[0]
		toks = toks[1:]
		return tok, nil
	})))
	require.Equal(t, []xml.Token{xml.CharData("after")}, toks, "nothing after the element was read")
}
