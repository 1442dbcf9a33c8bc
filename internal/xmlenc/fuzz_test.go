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

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/internal/xmltree"
	"github.com/mixpam/mixpam/ns"
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
			var attrs []xml.Attr
			for _, a := range t.Attr {
				if a.Name.Space == "xml" {
					a.Name.Space = xmlURL
				}
				if seen[a.Name] {
					continue
				}
				seen[a.Name] = true
				attrs = append(attrs, a)
			}
			events = append(events, xmltree.Attrs(attrs)...)
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
// namespace is scope, and returns its events (see internal/xmltree).
func tree(out []byte, scope string) ([]string, error) {
	events, _, err := xmltree.Events(out, scope)
	return events, err
}

func isStanzaNS(space string) bool {
	switch space {
	case "", "jabber:client", "jabber:server", "jabber:component:accept":
		return true
	}
	return false
}

const xmlURL = "http://www.w3.org/XML/1998/namespace"
