package disco

import (
	"encoding/xml"
	"io"

	"github.com/mixpam/mixpam/internal/xmlenc"
)

// tokens reads an untrusted token stream one token at a time, through
// xmlenc.Guard (a nil reader is empty, a reader making no progress fails
// with io.ErrNoProgress). It hands out a token that came together with an
// error first and the error on the next call, and keeps returning the first
// error. Create it with newTokens.
type tokens struct {
	r   xml.TokenReader
	err error
}

func newTokens(r xml.TokenReader) *tokens {
	return &tokens{r: xmlenc.Guard(r)}
}

func (t *tokens) next() (xml.Token, error) {
	if t.err != nil {
		return nil, t.err
	}
	tok, err := t.r.Token()
	t.err = err
	if tok != nil {
		return tok, nil
	}
	return nil, err
}

// element returns the next start element at the current level, skipping
// character data, comments and the like. At the end of the enclosing element
// it returns ok false; at the end of the stream, io.EOF.
func (t *tokens) element() (start xml.StartElement, ok bool, err error) {
	for {
		tok, err := t.next()
		if err != nil {
			return xml.StartElement{}, false, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			return tok, true, nil
		case xml.EndElement:
			return xml.StartElement{}, false, nil
		}
	}
}

// skip consumes the rest of the element whose start element was just read,
// its end element included. It keeps a depth count rather than recursing, so
// hostile nesting costs no stack.
func (t *tokens) skip() error {
	for depth := 1; depth > 0; {
		tok, err := t.next()
		if err != nil {
			return unexpectedEOF(err)
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return nil
}

// text returns the character data directly inside the element whose start
// element was just read, consuming the element; child elements are skipped.
func (t *tokens) text() (string, error) {
	var s []byte
	for {
		tok, err := t.next()
		if err != nil {
			return "", unexpectedEOF(err)
		}
		switch tok := tok.(type) {
		case xml.CharData:
			s = append(s, tok...)
		case xml.StartElement:
			if err := t.skip(); err != nil {
				return "", err
			}
		case xml.EndElement:
			return string(s), nil
		}
	}
}

// unexpectedEOF reports an end of stream inside an element as
// io.ErrUnexpectedEOF.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// attr returns the value of the first attribute of start named local in no
// namespace.
func attr(start xml.StartElement, local string) string {
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// lang returns the xml:lang attribute of start.
func lang(start xml.StartElement) string {
	for _, a := range start.Attr {
		if a.Name.Local == "lang" && (a.Name.Space == nsXML || a.Name.Space == "xml") {
			return a.Value
		}
	}
	return ""
}
