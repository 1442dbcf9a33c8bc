package rawxml

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestScanTag(t *testing.T) {
	for _, tc := range []struct {
		in    string
		ok    bool
		name  string
		attrs map[string]string
		empty bool
	}{
		{`<message from="a@b/c" to='d@e' xml:lang="en">`, true, "message", map[string]string{"from": "a@b/c", "to": "d@e", "xml:lang": "en"}, false},
		{"<x\n a=\"1\"\t/>", true, "x", map[string]string{"a": "1"}, true},
		{`<x a="&amp;&#60;&#x3c;">`, true, "x", map[string]string{"a": "&amp;&#60;&#x3c;"}, false},
		{`<x a="1"b="2">`, false, "", nil, false},  // no space between attributes
		{`<x a="1" a="2">`, false, "", nil, false}, // repeated
		{`<p:x>`, false, "", nil, false},           // prefixed element
		{`<x xmlns:p="u">`, false, "", nil, false}, // prefix declaration
		{`<x a=1>`, false, "", nil, false},         // unquoted
		{`<x a="<">`, false, "", nil, false},       // '<' in a value
		{`<x a="&bogus;">`, false, "", nil, false}, // unknown entity
		{`<x a="&#0;">`, false, "", nil, false},    // not a character
		{"<x a=\"\x01\">", false, "", nil, false},  // control character
		{"<x a=\"\xff\">", false, "", nil, false},  // not UTF-8
		{`<x a="1"`, false, "", nil, false},        // cut short
		{`<1x>`, false, "", nil, false},            // name
		{`<!-- c -->`, false, "", nil, false},      // not a tag
		{`<x a="é">`, true, "x", map[string]string{"a": "é"}, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			var tag Tag
			ok := ScanTag([]byte(tc.in), &tag)
			require.Equal(t, tc.ok, ok)
			if !ok {
				return
			}
			require.Equal(t, tc.name, string(tag.Name))
			require.Equal(t, tc.empty, tag.Empty)
			require.Equal(t, len(tc.in), tag.Len)
			got := map[string]string{}
			for _, a := range tag.Attrs {
				got[string(a.Name)] = string(a.Value)
				written := tc.in[a.Start:a.End]
				require.True(t, strings.HasPrefix(strings.TrimLeft(written, " \t\r\n"), string(a.Name)+"="), written)
				require.Contains(t, `"'`, written[len(written)-1:], written)
			}
			require.Equal(t, tc.attrs, got)
		})
	}
}

func TestElement(t *testing.T) {
	for _, tc := range []struct {
		in       string
		ok       bool
		children []string
	}{
		{`<m a="1"><b>x &amp; y</b> <c xmlns="u"/><d><e/></d></m>`, true, []string{`<b>x &amp; y</b>`, `<c xmlns="u"/>`, `<d><e/></d>`}},
		{`<m/>`, true, nil},
		{`<m></m >`, true, nil},
		{`<m><b></m>`, false, nil},           // unclosed child
		{`<m><b></c></m>`, false, nil},       // wrong end tag
		{`<m>`, false, nil},                  // cut short
		{`<m></m><n/>`, false, nil},          // two elements
		{`<m></m> `, false, nil},             // trailing text
		{`<m>]]></m>`, false, nil},           // CDATA end in text
		{`<m><![CDATA[x]]></m>`, false, nil}, // outside the subset
		{`<m><!-- c --></m>`, false, nil},
		{`<m><?pi?></m>`, false, nil},
		{"<m>\x00</m>", false, nil},
		{`<m>&#xD800;</m>`, false, nil},
	} {
		t.Run(tc.in, func(t *testing.T) {
			var s Scanner
			var children []string
			ok := s.Element([]byte(tc.in), func(_ *Tag, start, end int) bool {
				children = append(children, tc.in[start:end])
				return true
			})
			require.Equal(t, tc.ok, ok)
			if ok {
				require.Equal(t, tc.children, children)
				if s.Top.Empty {
					require.Equal(t, len(tc.in), s.EndTag)
				} else {
					require.True(t, strings.HasPrefix(tc.in[s.EndTag:], "</m"), tc.in[s.EndTag:])
				}
			}
		})
	}
}

func TestElementDepth(t *testing.T) {
	deep := func(n int) []byte {
		return append(bytes.Repeat([]byte("<a>"), n), bytes.Repeat([]byte("</a>"), n)...)
	}
	var s Scanner
	require.True(t, s.Element(deep(MaxDepth), nil))
	require.False(t, s.Element(deep(MaxDepth+1), nil))
}

// FuzzElement: whatever Element accepts, encoding/xml decodes as exactly
// one element, without error, whose children are the ranges Element
// reported, each itself exactly one element.
func FuzzElement(f *testing.F) {
	for _, s := range []string{
		`<message from="coven@mix.example/1" to="u@example" type="groupchat"><body>x &amp; &#233;</body><stanza-id xmlns="urn:xmpp:sid:0" by="u@example" id="1"/></message>`,
		`<m a='1'><b/>text<c><d>x</d></c></m>`,
		`<m xml:lang="en"/>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var s Scanner
		var children [][2]int
		if !s.Element(raw, func(_ *Tag, start, end int) bool {
			children = append(children, [2]int{start, end})
			return true
		}) {
			return
		}
		if n, err := decodeElements(raw); err != nil || n != 1 {
			t.Fatalf("accepted, but encoding/xml: %d elements, %v: %q", n, err, raw)
		}
		for _, c := range children {
			if n, err := decodeElements(raw[c[0]:c[1]]); err != nil || n != 1 {
				t.Fatalf("child %q: %d elements, %v", raw[c[0]:c[1]], n, err)
			}
		}
	})
}

// decodeElements decodes raw strictly and counts its top-level elements; any
// token but elements and character data is an error.
func decodeElements(raw []byte) (int, error) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	depth, n := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if depth != 0 {
				return n, io.ErrUnexpectedEOF
			}
			return n, nil
		}
		if err != nil {
			return n, err
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				n++
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
		default:
			return n, io.ErrUnexpectedEOF
		}
	}
}

// A tag with more than MaxAttrs attributes is outside the subset, so the
// check for repeated attributes stays bounded: 8,000 attributes cost a
// quarter of a second before this bound.
func TestScanTagManyAttributes(t *testing.T) {
	tag := func(n int) []byte {
		var b strings.Builder
		b.WriteString("<message")
		for i := range n {
			fmt.Fprintf(&b, ` a%d="v"`, i)
		}
		b.WriteString(">")
		return []byte(b.String())
	}
	var tg Tag
	require.True(t, ScanTag(tag(MaxAttrs), &tg))
	require.Len(t, tg.Attrs, MaxAttrs)
	require.False(t, ScanTag(tag(MaxAttrs+1), &tg))
	require.False(t, ScanTag(tag(8000), &tg))
	require.LessOrEqual(t, cap(tg.Attrs), 2*MaxAttrs, "the memory a reused Tag keeps")
}
