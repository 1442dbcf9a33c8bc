package splice

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"
)

const presence = `<presence xmlns="jabber:server" from="coven@mix.shakespeare.example/123456" to="hecate@shakespeare.example" id="p1">` +
	`<show>dnd</show><mix xmlns="urn:xmpp:mix:presence:0"><nick>thirdwitch</nick></mix></presence>`

const presenceNoTo = `<presence from="coven@mix.shakespeare.example/123456" id="p1">` +
	`<show>dnd</show><mix xmlns="urn:xmpp:mix:presence:0"><nick>thirdwitch</nick></mix></presence>`

func capture(t *testing.T, raw string) Stanza {
	t.Helper()
	s, err := Capture(nil, xml.NewDecoder(strings.NewReader(raw)))
	require.NoError(t, err)
	return s
}

func TestCaptureDropsTo(t *testing.T) {
	s := capture(t, presence)
	require.Equal(t, presenceNoTo, string(s.Bytes()))
}

func TestAppendTo(t *testing.T) {
	s := capture(t, presence)
	tests := []struct {
		name, want string
		append     func([]byte) []byte
	}{
		{"plain", `<presence to="hecate@shakespeare.example/UUID-x4r/2491" from=`,
			func(dst []byte) []byte { return s.AppendTo(dst, "hecate@shakespeare.example/UUID-x4r/2491") }},
		{"escaped", `<presence to="a@b/&quot;&lt;&amp;&gt;&#x9;é" from=`,
			func(dst []byte) []byte { return s.AppendTo(dst, "a@b/\"<&>\té") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(tc.append([]byte("kept")))
			require.True(t, strings.HasPrefix(got, "kept"+tc.want), got)
			require.True(t, strings.HasSuffix(got, presenceNoTo[len("<presence"):]), got)
		})
	}
}

func TestCopies(t *testing.T) {
	s := capture(t, presence)
	c := s.Copies(nil, Escape("hecate@shakespeare.example"))
	rest := presenceNoTo[len("<presence"):]
	for _, res := range []string{
		"UUID-x4r/2491",
		`a"b&`,
		"",
		strings.Repeat("long", 200), // beyond the room left at first
		"UUID-b5b/0114",
	} {
		got := string(c.To(Escape(res)))
		want := `<presence to="hecate@shakespeare.example/` + string(Escape(res)) + `"` + rest
		require.Equal(t, want, got)
		require.Equal(t, want, string(s.AppendToFull(nil, Escape("hecate@shakespeare.example"), Escape(res))))
		require.Equal(t, want, string(s.AppendTo(nil, "hecate@shakespeare.example/"+res)), "the same as AppendTo")
	}
}

func TestCopiesDoNotAllocate(t *testing.T) {
	s := capture(t, presence)
	bare, res := Escape("hecate@shakespeare.example"), Escape("a-resource-longer-than-thirty-two-bytes")
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		c := s.Copies(buf, bare)
		for range 10 {
			_ = c.To(res)
		}
		_ = Escape("hecate@shakespeare.example/a-resource-longer-than-thirty-two-bytes")
	})
	require.Zero(t, allocs)
}

func TestCaptureStopsAtTheEndOfTheElement(t *testing.T) {
	tests := []struct {
		name string
		rest func(*xml.Decoder) xml.TokenReader
	}{
		{"decoder", func(d *xml.Decoder) xml.TokenReader { return d }},
		{"inner element", func(d *xml.Decoder) xml.TokenReader { return xmlstream.InnerElement(d) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := xml.NewDecoder(strings.NewReader(presence + `<message/>`))
			tok, err := d.Token()
			require.NoError(t, err)
			s, err := Capture(nil, xmlstream.MultiReader(xmlstream.Token(tok), tc.rest(d)))
			require.NoError(t, err)
			require.Equal(t, presenceNoTo, string(s.Bytes()))
			tok, err = d.Token()
			require.NoError(t, err)
			require.Equal(t, "message", tok.(xml.StartElement).Name.Local, "nothing past the element was read")
		})
	}
}

func TestCaptureErrors(t *testing.T) {
	a, b := xml.StartElement{Name: xml.Name{Local: "a"}}, xml.StartElement{Name: xml.Name{Local: "b"}}
	tests := []struct {
		name string
		in   xml.TokenReader
		want error
	}{
		{"text first", xml.NewDecoder(strings.NewReader(`text<a/>`)), ErrNotElement},
		{"empty", xml.NewDecoder(strings.NewReader(``)), io.EOF},
		{"cut short", xmlstream.MultiReader(xmlstream.Token(a), xmlstream.Token(b)), io.ErrUnexpectedEOF},
		{"end of another element", xmlstream.MultiReader(xmlstream.Token(a), xmlstream.Token(b.End())), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Capture(nil, tc.in)
			if tc.want == nil {
				require.Error(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestCaptureReusesDst(t *testing.T) {
	buf := make([]byte, 0, 1024)
	s, err := Capture(buf[:5], xml.NewDecoder(strings.NewReader(presence)))
	require.NoError(t, err)
	require.Equal(t, presenceNoTo, string(s.Bytes()))
	require.Same(t, &buf[:1][0], &s.Bytes()[:1][0], "captured into dst[:0]")
}
