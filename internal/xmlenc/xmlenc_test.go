package xmlenc_test

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/paging"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
)

// inStream decodes a stanza as a server reads it: inside a stream whose
// default namespace is jabber:client, so that its tokens carry that
// namespace as they do in a real session.
func inStream(stanza string) xml.TokenReader {
	d := xml.NewDecoder(strings.NewReader(`<stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams">` + stanza + `</stream:stream>`))
	if _, err := d.Token(); err != nil {
		panic(err)
	}
	return xmlstream.Inner(d)
}

func TestAppendDecoderTokens(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			name: "stanza namespace not declared",
			in:   `<message to="juliet@capulet.example" type="groupchat"><body>hi</body></message>`,
			want: `<message to="juliet@capulet.example" type="groupchat"><body>hi</body></message>`,
		},
		{
			name: "each namespace declared once",
			in:   `<message><mix xmlns="urn:xmpp:mix:core:1"><nick>thirdwitch</nick><jid>123456#coven@mix.shakespeare.example</jid></mix><body>b</body></message>`,
			want: `<message><mix xmlns="urn:xmpp:mix:core:1"><nick>thirdwitch</nick><jid>123456#coven@mix.shakespeare.example</jid></mix><body>b</body></message>`,
		},
		{
			name: "nested stanza declares jabber:client",
			in:   `<message><result xmlns="urn:xmpp:mam:2" id="28482"><forwarded xmlns="urn:xmpp:forward:0"><delay xmlns="urn:xmpp:delay" stamp="2010-07-10T23:08:25Z"/><message xmlns="jabber:client" to="juliet@capulet.example"><body>x</body></message></forwarded></result></message>`,
			want: `<message><result xmlns="urn:xmpp:mam:2" id="28482"><forwarded xmlns="urn:xmpp:forward:0"><delay xmlns="urn:xmpp:delay" stamp="2010-07-10T23:08:25Z"></delay><message xmlns="jabber:client" to="juliet@capulet.example"><body>x</body></message></forwarded></result></message>`,
		},
		{
			name: "prefixed element",
			in:   `<iq type="result"><x:join xmlns:x="urn:xmpp:mix:core:1" x:id="1"><nick/></x:join></iq>`,
			want: `<iq type="result"><join xmlns="urn:xmpp:mix:core:1" xmlns:ns1="urn:xmpp:mix:core:1" ns1:id="1"><nick xmlns="jabber:client"></nick></join></iq>`,
		},
		{
			name: "empty namespace",
			in:   `<message><a xmlns="urn:x"><b xmlns=""><c/></b></a></message>`,
			want: `<message><a xmlns="urn:x"><b xmlns=""><c></c></b></a></message>`,
		},
		{
			name: "xml:lang and prefixed attributes",
			in:   `<message xml:lang="en"><x xmlns="urn:x" xmlns:p="urn:p" p:a="1" b="2"/></message>`,
			want: `<message xml:lang="en"><x xmlns="urn:x" xmlns:ns1="urn:p" ns1:a="1" b="2"></x></message>`,
		},
		{
			name: "comments, processing instructions and directives dropped",
			in:   `<message><!-- c --><?pi x?><body>a<!-- d -->b</body></message>`,
			want: `<message><body>ab</body></message>`,
		},
		{
			name: "text escaped",
			in:   `<message><body>&lt;b&gt; &amp; ]]&gt; "q" 'a' &#xD;&#x9;</body></message>`,
			want: "<message><body>&lt;b&gt; &amp; ]]&gt; \"q\" 'a' &#xD;\t</body></message>",
		},
		{
			name: "CDATA escaped",
			in:   `<message><body><![CDATA[<not> & element]]></body></message>`,
			want: `<message><body>&lt;not&gt; &amp; element</body></message>`,
		},
		{
			name: "attributes escaped",
			in:   `<message id="&lt;&amp;&gt;&quot;'&#x9;&#xA;&#xD;"/>`,
			want: `<message id="&lt;&amp;&gt;&quot;'&#x9;&#xA;&#xD;"></message>`,
		},
		{
			name: "repeated attribute written once",
			in:   `<message id="1" id="2"><x xmlns="urn:x" xmlns:p="urn:p" xmlns:q="urn:p" p:a="1" q:a="2" xml:lang="en" xml:lang="de"/></message>`,
			want: `<message id="1"><x xmlns="urn:x" xmlns:ns1="urn:p" ns1:a="1" xml:lang="en"></x></message>`,
		},
		{
			name: "non-ASCII kept",
			in:   `<message><body>Ünïcödé 🜁</body></message>`,
			want: `<message><body>Ünïcödé 🜁</body></message>`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := xmlenc.Marshal(inStream(tc.in), ns.Client)
			require.NoError(t, err)
			require.Equal(t, tc.want, string(got))
			requireSameTree(t, inStream(tc.in), got, ns.Client)
		})
	}
}

// TestAppendPrefixes covers prefixed names read outside a stream, where no
// default namespace is declared.
func TestAppendPrefixes(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"bound prefix", `<x:a xmlns:x="urn:x"><b/><x:c/></x:a>`, `<a xmlns="urn:x"><b xmlns=""></b><c></c></a>`},
		{"unbound prefix", `<p:a><b/></p:a>`, `<a xmlns="p"><b xmlns=""></b></a>`},
		{"prefix bound to no namespace", `<a xmlns="urn:x"><p:b xmlns:p=""><c/></p:b></a>`, `<a xmlns="urn:x"><b xmlns=""><c xmlns="urn:x"></c></b></a>`},
		{"xml prefix on an element", `<a xmlns="urn:x"><xml:b><c/></xml:b></a>`, `<a xmlns="urn:x"><b xmlns="http://www.w3.org/XML/1998/namespace"><c xmlns="urn:x"></c></b></a>`},
		{"prefix rebound in a child", `<x:a xmlns:x="urn:1"><x:b xmlns:x="urn:2"><c/></x:b><c/></x:a>`, `<a xmlns="urn:1"><b xmlns="urn:2"><c xmlns=""></c></b><c xmlns=""></c></a>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := xmlenc.Marshal(xml.NewDecoder(strings.NewReader(tc.in)), ns.Client)
			require.NoError(t, err)
			require.Equal(t, tc.want, string(got))
			requireSameTree(t, xml.NewDecoder(strings.NewReader(tc.in)), got, ns.Client)
		})
	}
}

func TestAppendStanzaNamespaces(t *testing.T) {
	for _, space := range []string{"jabber:client", "jabber:server", "jabber:component:accept", ""} {
		t.Run(space, func(t *testing.T) {
			in := `<message xmlns="` + space + `" to="juliet@capulet.example"><body>hi</body><x xmlns="urn:x"><y/></x></message>`
			got, err := xmlenc.Marshal(xml.NewDecoder(strings.NewReader(in)), ns.Client)
			require.NoError(t, err)
			require.Equal(t, `<message to="juliet@capulet.example"><body>hi</body><x xmlns="urn:x"><y></y></x></message>`, string(got),
				"a top-level stanza keeps its children in its namespace without declaring it")
		})
	}
}

func TestAppendScope(t *testing.T) {
	in := `<query xmlns="jabber:iq:roster"><item jid="a@b"/></query><x xmlns="urn:x"/>`
	got, err := xmlenc.Marshal(xml.NewDecoder(strings.NewReader(in)), "jabber:iq:roster")
	require.NoError(t, err)
	require.Equal(t, `<query><item jid="a@b"></item></query><x xmlns="urn:x"></x>`, string(got))
}

func TestAppendKeepsDst(t *testing.T) {
	dst := []byte("prefix:")
	got, err := xmlenc.Append(dst, inStream(`<presence/>`), ns.Client)
	require.NoError(t, err)
	require.Equal(t, "prefix:<presence></presence>", string(got))
}

// TestAppendStalledReader covers readers that return neither a token nor an
// error: Append must fail with io.ErrNoProgress instead of looping forever.
func TestAppendStalledReader(t *testing.T) {
	calls := 0
	stalled := xmlstream.ReaderFunc(func() (xml.Token, error) {
		calls++
		switch {
		case calls == 1:
			return xml.StartElement{Name: xml.Name{Local: "presence"}}, nil
		case calls > 100:
			t.Fatal("Append keeps reading a reader that makes no progress")
		}
		return nil, nil
	})
	got, err := xmlenc.Append([]byte("prefix:"), stalled, ns.Client)
	require.ErrorIs(t, err, io.ErrNoProgress)
	require.Equal(t, "prefix:<presence>", string(got))
	require.Equal(t, 2, calls)

	got, err = xmlenc.Append([]byte("prefix:"), nil, ns.Client)
	require.NoError(t, err, "a nil reader is empty")
	require.Equal(t, "prefix:", string(got))
}

// TestAppendBuiltTokens covers tokens built as encoding/xml's Encoder reads
// them, as mellium's packages build them: an element with an empty
// Name.Space and no xmlns attribute is in its parent's namespace.
func TestAppendBuiltTokens(t *testing.T) {
	count := uint64(3)
	set := &paging.Set{Last: "b", Count: &count}
	set.First.ID = "a"
	tests := []struct {
		name string
		in   xml.TokenReader
		want string
	}{
		{
			name: "RSM set children inherit the set's namespace",
			in:   set.TokenReader(),
			want: `<set xmlns="http://jabber.org/protocol/rsm"><first>a</first><last>b</last><count>3</count></set>`,
		},
		{
			name: "IQ error",
			in: stanza.IQ{ID: "1", Type: stanza.ErrorIQ, To: jid.MustParse("juliet@capulet.example/balcony")}.Wrap(
				stanza.Error{Type: stanza.Cancel, Condition: stanza.ItemNotFound, Text: map[string]string{"": "no <such> item"}}.TokenReader()),
			want: `<iq type="error" to="juliet@capulet.example/balcony" id="1"><error type="cancel"><item-not-found xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"></item-not-found><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">no &lt;such&gt; item</text></error></iq>`,
		},
		{
			name: "namespace as an xmlns attribute",
			in: xmlstream.Wrap(
				xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Local: "item"}}),
				xml.StartElement{Name: xml.Name{Local: "query"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: "jabber:iq:roster"}}},
			),
			want: `<query xmlns="jabber:iq:roster"><item></item></query>`,
		},
		{
			name: "decoded payload in a built wrapper",
			in: xmlstream.Wrap(
				xml.NewDecoder(strings.NewReader(`<x:join xmlns:x="urn:xmpp:mix:core:1"><nick xmlns="">n</nick></x:join>`)),
				xml.StartElement{Name: xml.Name{Space: "urn:xmpp:mix:pam:2", Local: "client-join"}},
			),
			want: `<client-join xmlns="urn:xmpp:mix:pam:2"><join xmlns="urn:xmpp:mix:core:1"><nick xmlns="">n</nick></join></client-join>`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := xmlenc.Marshal(tc.in, ns.Client)
			require.NoError(t, err)
			require.Equal(t, tc.want, string(got))
		})
	}
}

func TestAppendInvalidCharacters(t *testing.T) {
	start := xml.StartElement{Name: xml.Name{Local: "body"}, Attr: []xml.Attr{{Name: xml.Name{Local: "a"}, Value: "x\x00y\xffz\uFFFE"}}}
	in := xmlstream.Wrap(xmlstream.Token(xml.CharData("a\x00b\x1bc\xffd\uFFFFe\U0010FFFF")), start)
	got, err := xmlenc.Marshal(in, ns.Client)
	require.NoError(t, err)
	require.Equal(t, "<body a=\"x\uFFFDy\uFFFDz\uFFFD\">a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\U0010FFFF</body>", string(got))
	requireWellFormed(t, got)
}

func TestAppendUnbalanced(t *testing.T) {
	a := xml.StartElement{Name: xml.Name{Local: "a"}}
	b := xml.StartElement{Name: xml.Name{Local: "b"}}
	tests := []struct {
		name string
		toks []xml.Token
		want error
	}{
		{"end without start", []xml.Token{a.End()}, xmlenc.ErrUnbalanced},
		{"end after balanced element", []xml.Token{a, a.End(), a.End()}, xmlenc.ErrUnbalanced},
		{"end of another element", []xml.Token{a, b, a.End(), b.End()}, xmlenc.ErrUnbalanced},
		{"start without end", []xml.Token{a, b, b.End()}, io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := xmlenc.Marshal(&tokenSlice{toks: tc.toks}, ns.Client)
			require.ErrorIs(t, err, tc.want)
		})
	}
	t.Run("decoder error", func(t *testing.T) {
		_, err := xmlenc.Marshal(xml.NewDecoder(strings.NewReader(`<a><b></a>`)), ns.Client)
		var syntax *xml.SyntaxError
		require.ErrorAs(t, err, &syntax)
	})
}

func TestAppendInvalidNames(t *testing.T) {
	decoded := []string{
		`<message><A:0/></message>`,
		`<message><p:-a xmlns:p="urn:p"/></message>`,
		`<message><x xmlns="urn:x" p:0="1" xmlns:p="urn:p"/></message>`,
	}
	for _, in := range decoded {
		_, err := xmlenc.Marshal(xml.NewDecoder(strings.NewReader(in)), ns.Client)
		require.ErrorIs(t, err, xmlenc.ErrInvalidName, in)
	}
	for _, name := range []xml.Name{{Local: ""}, {Local: "a b"}, {Local: "1a"}, {Local: ":a"}, {Local: "a>"}} {
		_, err := xmlenc.Marshal(xmlstream.Wrap(nil, xml.StartElement{Name: name}), ns.Client)
		require.ErrorIs(t, err, xmlenc.ErrInvalidName, "element %q", name.Local)
		_, err = xmlenc.Marshal(xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Local: "a"}, Attr: []xml.Attr{{Name: name}}}), ns.Client)
		require.ErrorIs(t, err, xmlenc.ErrInvalidName, "attribute %q", name.Local)
	}
	for _, name := range []string{"a", "_a", "a-1.b_c", "Ünï", "a·b", "ω"} {
		_, err := xmlenc.Marshal(xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Local: name}}), ns.Client)
		require.NoError(t, err, "element %q", name)
	}
}

func TestAppendEscaped(t *testing.T) {
	tests := []struct {
		in         string
		attr       bool
		want       string
		wantInText string
	}{
		{in: `a<b>&"c'`, want: `a&lt;b&gt;&amp;&quot;c'`, wantInText: `a&lt;b&gt;&amp;"c'`},
		{in: "t\tn\nr\r", want: "t&#x9;n&#xA;r&#xD;", wantInText: "t\tn\nr&#xD;"},
		{in: "bad\x01\xc3", want: "bad\uFFFD\uFFFD", wantInText: "bad\uFFFD\uFFFD"},
		{in: "", want: "", wantInText: ""},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, string(xmlenc.AppendEscaped(nil, tc.in, true)), "attribute %q", tc.in)
		require.Equal(t, tc.wantInText, string(xmlenc.AppendEscaped(nil, tc.in, false)), "text %q", tc.in)
	}
}

type tokenSlice struct{ toks []xml.Token }

func (s *tokenSlice) Token() (xml.Token, error) {
	if len(s.toks) == 0 {
		return nil, io.EOF
	}
	tok := s.toks[0]
	s.toks = s.toks[1:]
	return tok, nil
}

func requireWellFormed(t *testing.T, out []byte) {
	t.Helper()
	_, err := tree(out, ns.Client)
	require.NoError(t, err, "output %q", out)
}

func requireSameTree(t *testing.T, in xml.TokenReader, out []byte, scope string) {
	t.Helper()
	want, err := expectedTree(in, scope)
	require.NoError(t, err)
	got, err := tree(out, scope)
	require.NoError(t, err, "output %q", out)
	require.Equal(t, want, got, "output %q", out)
}
