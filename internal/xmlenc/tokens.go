package xmlenc

import (
	"bytes"
	"encoding/xml"
	"io"
)

// EncoderTokens returns the tokens of raw, serialised XML such as Append
// writes, in the form an encoding/xml Encoder (and so any mellium token
// writer, such as a session's) writes correctly: each element's namespace
// in its Name.Space and no namespace declarations among its attributes,
// which the Encoder would write a second time. The one declaration kept is
// xmlns="" on an element in no namespace, for which the Encoder writes none
// of its own: without it the element would fall into its parent's default
// namespace. Namespaced attributes keep their Name.Space; the Encoder
// declares a prefix for them.
//
// This is how a handler that renders its answers as bytes (for
// host.RawRouter) writes them into a mellium mux's TokenReadEncoder:
// xmlstream.Copy(w, xmlenc.EncoderTokens(raw)). The reader ends with io.EOF
// after raw's last token, or fails with the Decoder's error when raw is not
// well-formed.
func EncoderTokens(raw []byte) xml.TokenReader {
	return encoderTokens{xml.NewDecoder(bytes.NewReader(raw))}
}

type encoderTokens struct{ d *xml.Decoder }

func (e encoderTokens) Token() (xml.Token, error) {
	tok, err := e.d.Token()
	if start, ok := tok.(xml.StartElement); ok {
		attrs := start.Attr[:0]
		for _, a := range start.Attr {
			if a.Name.Space == xmlnsKey || a.Name.Space == "" && a.Name.Local == xmlnsKey && start.Name.Space != "" {
				continue
			}
			attrs = append(attrs, a)
		}
		start.Attr = attrs
		tok = start
	}
	return tok, err
}

// Guard returns r made safe to read in a loop that stops at the first
// error, as every parser of untrusted payloads does: a nil r reads as empty
// (io.EOF at once), and a Token call that returns neither a token nor an
// error, which would make such a loop spin forever, returns
// io.ErrNoProgress instead. Everything else passes through unchanged.
func Guard(r xml.TokenReader) xml.TokenReader {
	return guard(r)
}

// guard is Guard returning the concrete type, which a caller reading in a
// loop keeps without an allocation.
func guard(r xml.TokenReader) guarded {
	if r == nil {
		r = emptyReader{}
	}
	return guarded{r}
}

type emptyReader struct{}

func (emptyReader) Token() (xml.Token, error) { return nil, io.EOF }

type guarded struct{ r xml.TokenReader }

func (g guarded) Token() (xml.Token, error) {
	tok, err := g.r.Token()
	if tok == nil && err == nil {
		return nil, io.ErrNoProgress
	}
	return tok, err
}
