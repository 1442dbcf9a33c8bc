package disco

import (
	"encoding/xml"
	"errors"
	"io"

	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/internal/xmltok"
)

// maxValue bounds the text of one element a remote entity's disco#info
// answer may carry (a data form value, XEP-0128), so that no answer can make
// one grow without bound.
const maxValue = 64 << 10

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

// Token implements xml.TokenReader.
func (t *tokens) Token() (xml.Token, error) {
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
		tok, err := t.Token()
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
// its end element included.
func (t *tokens) skip() error { return xmltok.Skip(t) }

// text returns the character data directly inside the element whose start
// element was just read, consuming the element, at most maxValue bytes of
// it. Child elements are skipped: an answer is taken as leniently as it can
// be read.
func (t *tokens) text() (string, error) {
	v, err := xmltok.Text(t, maxValue)
	if errors.Is(err, xmltok.ErrChild) {
		err = nil
	}
	return v, err
}

// unexpectedEOF reports an end of stream inside an element as
// io.ErrUnexpectedEOF.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
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
