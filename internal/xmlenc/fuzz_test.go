package xmlenc_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/internal/ns"
	"github.com/mixpam/mixpam/internal/xmlenc"
)

// FuzzAppend feeds arbitrary bytes through an xml.Decoder into Append. When
// the decoder accepts the input, the output must be namespace-well-formed
// (each attribute once) and re-parse to the tree the decoder read. The seed
// corpus in testdata/fuzz/FuzzAppend holds examples from XEP-0405, 0369,
// 0403, 0313, 0191 and 0359 and hand-written edge cases.
func FuzzAppend(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var read tokenLog
		out, err := xmlenc.Marshal(read.tee(xml.NewDecoder(bytes.NewReader(data))), ns.Client)
		if err != nil {
			return
		}
		want, err := expectedTree(&tokenSlice{toks: read.toks}, ns.Client)
		if err != nil {
			t.Fatalf("tokens the decoder read: %v", err)
		}
		got, err := tree(out, ns.Client)
		if err != nil {
			t.Fatalf("output of %q does not re-parse: %v\noutput: %q", data, err, out)
		}
		if !slices.Equal(want, got) {
			t.Fatalf("output of %q re-parses to another tree\noutput: %q\nwant: %q\ngot:  %q", data, out, want, got)
		}
	})
}

// TestAppendRoundTrip checks that the XEP examples among the seeds of
// FuzzAppend (files named xep*) are accepted, so that the fuzz target does
// not skip them, and round-trip.
func TestAppendRoundTrip(t *testing.T) {
	seeds := readCorpus(t, "FuzzAppend")
	n := 0
	for name, data := range seeds {
		if !strings.HasPrefix(name, "xep") {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			out, err := xmlenc.Marshal(xml.NewDecoder(bytes.NewReader(data)), ns.Client)
			require.NoError(t, err)
			requireSameTree(t, xml.NewDecoder(bytes.NewReader(data)), out, ns.Client)
		})
	}
	require.NotZero(t, n, "no XEP example seeds")
}

// readCorpus returns the []byte inputs of the seed corpus files of a fuzz
// target, by file name.
func readCorpus(t *testing.T, target string) map[string][]byte {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	seeds := make(map[string][]byte)
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		header, value, ok := strings.Cut(strings.TrimSpace(string(raw)), "\n")
		require.True(t, ok && header == "go test fuzz v1", "%s: not a corpus file", e.Name())
		quoted, ok := strings.CutPrefix(value, "[]byte(")
		require.True(t, ok, "%s: not a []byte value", e.Name())
		s, err := strconv.Unquote(strings.TrimSuffix(quoted, ")"))
		require.NoError(t, err, e.Name())
		seeds[e.Name()] = []byte(s)
	}
	return seeds
}

// tokenLog keeps copies of the tokens read through it.
type tokenLog struct {
	r    xml.TokenReader
	toks []xml.Token
}

func (l *tokenLog) tee(r xml.TokenReader) xml.TokenReader {
	l.r = r
	return l
}

func (l *tokenLog) Token() (xml.Token, error) {
	tok, err := l.r.Token()
	if tok != nil {
		l.toks = append(l.toks, xml.CopyToken(tok))
	}
	return tok, err
}

// The trees compared are lists of events: "<{namespace}local" followed by
// one event per attribute, "text" events (adjacent character data merged)
// and "/" for end elements.

// expectedTree is the tree that Append's output must re-parse to, computed
// from decoder tokens: namespaces as the decoder resolved them, except that
// a top-level element in a stanza namespace (or in scope's) is in scope, and
// an element in the same namespace as its parent is in its parent's output
// namespace; attributes without namespace declarations, each name once
// (the first); comments, processing instructions and directives dropped.
func expectedTree(r xml.TokenReader, scope string) ([]string, error) {
	type frame struct{ in, out string }
	var stack []frame
	var events []string
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			events = append(events, "text "+strconv.Quote(text.String()))
			text.Reset()
		}
	}
	for {
		tok, err := r.Token()
		switch t := tok.(type) {
		case xml.StartElement:
			flush()
			space := t.Name.Space
			out := space
			switch {
			case len(stack) == 0 && (isStanzaNS(space) || space == scope):
				out = scope
			case len(stack) > 0 && space == stack[len(stack)-1].in:
				out = stack[len(stack)-1].out
			}
			stack = append(stack, frame{in: space, out: out})
			events = append(events, "<{"+out+"}"+t.Name.Local)
			seen := make(map[xml.Name]bool)
			for _, a := range t.Attr {
				if isDeclaration(a.Name) {
					continue
				}
				if a.Name.Space == "xml" {
					a.Name.Space = xmlURL
				}
				if seen[a.Name] {
					continue
				}
				seen[a.Name] = true
				events = append(events, attrEvent(a))
			}
		case xml.EndElement:
			flush()
			if len(stack) == 0 {
				return nil, fmt.Errorf("unbalanced end element %s", t.Name.Local)
			}
			stack = stack[:len(stack)-1]
			events = append(events, "/")
		case xml.CharData:
			text.Write(t)
		}
		if err == io.EOF {
			flush()
			return events, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// tree parses out, as it would be read inside an element whose default
// namespace is scope, and returns its events. It fails when out is not
// namespace-well-formed, including what encoding/xml's Decoder does not
// reject: an attribute (or namespace declaration) written twice, a name
// that is not a QName.
func tree(out []byte, scope string) ([]string, error) {
	if err := checkRawNames(out, scope); err != nil {
		return nil, err
	}
	d := xml.NewDecoder(wrap(out, scope))
	if _, err := d.Token(); err != nil { // the wrapper
		return nil, err
	}
	depth := 1
	var events []string
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			events = append(events, "text "+strconv.Quote(text.String()))
			text.Reset()
		}
	}
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			flush()
			depth++
			events = append(events, "<{"+t.Name.Space+"}"+t.Name.Local)
			for _, a := range t.Attr {
				if !isDeclaration(a.Name) {
					events = append(events, attrEvent(a))
				}
			}
		case xml.EndElement:
			flush()
			depth--
			if depth == 0 {
				if _, err := d.Token(); err != io.EOF {
					return nil, fmt.Errorf("output goes on after the wrapper's end: %v", err)
				}
				return events, nil
			}
			events = append(events, "/")
		case xml.CharData:
			text.Write(t)
		default:
			return nil, fmt.Errorf("output holds a %T", tok)
		}
	}
}

func wrap(out []byte, scope string) io.Reader {
	return io.MultiReader(strings.NewReader(`<wrapper xmlns="`+scope+`">`), bytes.NewReader(out), strings.NewReader(`</wrapper>`))
}

// checkRawNames fails when an element of out has two attributes with the
// same qualified name, or a name whose prefix or local part is not an
// NCName.
func checkRawNames(out []byte, scope string) error {
	d := xml.NewDecoder(wrap(out, scope))
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if start, ok := tok.(xml.StartElement); ok {
			if !isQName(start.Name) {
				return fmt.Errorf("element name %s:%s is not a QName", start.Name.Space, start.Name.Local)
			}
			seen := make(map[xml.Name]bool, len(start.Attr))
			for _, a := range start.Attr {
				if seen[a.Name] {
					return fmt.Errorf("<%s> has attribute %s:%s twice", start.Name.Local, a.Name.Space, a.Name.Local)
				}
				seen[a.Name] = true
				if !isQName(a.Name) {
					return fmt.Errorf("<%s> has attribute name %s:%s, not a QName", start.Name.Local, a.Name.Space, a.Name.Local)
				}
			}
		}
	}
}

// isQName is a loose check that n, as RawToken splits it, is prefix:local
// or local with NCName parts: no colon left, and no part starting with what
// only a NameChar may start with. encoding/xml checked the rest.
func isQName(n xml.Name) bool {
	ncName := func(s string) bool {
		if s == "" || strings.Contains(s, ":") {
			return false
		}
		r, _ := utf8.DecodeRuneInString(s)
		return !unicode.IsDigit(r) && r != '-' && r != '.' && r != 0xB7 &&
			!unicode.In(r, unicode.Mn, unicode.Mc) && r != 0x203F && r != 0x2040
	}
	return ncName(n.Local) && (n.Space == "" || ncName(n.Space))
}

func attrEvent(a xml.Attr) string {
	return "@{" + a.Name.Space + "}" + a.Name.Local + "=" + strconv.Quote(a.Value)
}

func isDeclaration(n xml.Name) bool {
	return n.Space == "xmlns" || n.Space == "" && n.Local == "xmlns"
}

func isStanzaNS(space string) bool {
	switch space {
	case "", "jabber:client", "jabber:server", "jabber:component:accept":
		return true
	}
	return false
}

const xmlURL = "http://www.w3.org/XML/1998/namespace"
