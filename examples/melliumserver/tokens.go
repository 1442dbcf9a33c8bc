package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/stanza"
)

// The server keeps a stanza that must outlive its reader (queued for a
// client, replayed to several handlers) as a slice of tokens.

// maxTokens bounds the tokens of one stanza the server collects.
const maxTokens = 10000

// collect reads r to its end and returns copies of its tokens, cleaned for
// re-encoding (see cleaner).
func collect(r xml.TokenReader) ([]xml.Token, error) {
	var toks []xml.Token
	var c cleaner
	for {
		tok, err := r.Token()
		if tok != nil {
			if len(toks) == maxTokens {
				return nil, errors.New("melliumserver: stanza too large")
			}
			toks = append(toks, c.clean(xml.CopyToken(tok)))
		}
		if err == io.EOF {
			return toks, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// cleaner prepares decoded tokens for mellium's encoder. xml.Decoder keeps
// both Name.Space and the xmlns attribute, and an Encoder fed both writes
// the namespace twice (not well-formed): the attributes go. A top-level
// stanza loses its namespace, to take the default one of whatever stream
// it is written to (jabber:client, jabber:component:accept); nested
// stanzas (a forwarded message) keep jabber:client.
type cleaner struct{ depth int }

func (c *cleaner) clean(tok xml.Token) xml.Token {
	switch t := tok.(type) {
	case xml.StartElement:
		attrs := t.Attr[:0]
		for _, a := range t.Attr {
			if a.Name.Space != "xmlns" && !(a.Name.Space == "" && a.Name.Local == "xmlns") {
				attrs = append(attrs, a)
			}
		}
		t.Attr, t.Name.Space = attrs, c.space(t.Name.Space)
		c.depth++
		return t
	case xml.EndElement:
		c.depth--
		t.Name.Space = c.space(t.Name.Space)
		return t
	case xml.CharData:
		return t
	}
	return nil // comments, processing instructions, directives
}

func (c *cleaner) space(space string) string {
	switch {
	case c.depth == 0 && (space == stanza.NSClient || space == nsComponent):
		return ""
	case space == nsComponent:
		return stanza.NSClient
	}
	return space
}

// replay returns a reader of toks.
func replay(toks []xml.Token) xml.TokenReader {
	i := 0
	return xmlstream.ReaderFunc(func() (xml.Token, error) {
		for i < len(toks) {
			i++
			if toks[i-1] != nil {
				return toks[i-1], nil
			}
		}
		return nil, io.EOF
	})
}

// whole returns the tokens of a stanza from its start and its children.
func whole(start xml.StartElement, children []xml.Token) []xml.Token {
	toks := make([]xml.Token, 0, len(children)+2)
	var c cleaner
	return append(append(append(toks, c.clean(start.Copy())), children...), xml.EndElement{Name: xml.Name{Local: start.Name.Local}})
}

// attr returns the value of the unprefixed attribute local of start.
func attr(start xml.StartElement, local string) string {
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// setAttr returns start with the attribute local set to value, or removed
// if value is empty.
func setAttr(start xml.StartElement, local, value string) xml.StartElement {
	attrs := make([]xml.Attr, 0, len(start.Attr)+1)
	for _, a := range start.Attr {
		if a.Name.Space != "" || a.Name.Local != local {
			attrs = append(attrs, a)
		}
	}
	if value != "" {
		attrs = append(attrs, xml.Attr{Name: xml.Name{Local: local}, Value: value})
	}
	start.Attr = attrs
	return start
}

// replies is the xmlstream.TokenReadEncoder a mux handler gets: it reads
// the stanza and records what the handler writes, to be queued.
type replies struct {
	xml.TokenReader
	toks []xml.Token
	c    cleaner
}

func (w *replies) EncodeToken(t xml.Token) error {
	w.toks = append(w.toks, w.c.clean(xml.CopyToken(t)))
	return nil
}

func (w *replies) Encode(v any) error { return w.EncodeElement(v, xml.StartElement{}) }

func (w *replies) EncodeElement(v any, start xml.StartElement) error {
	var b bytes.Buffer
	e := xml.NewEncoder(&b)
	var err error
	if start.Name.Local == "" {
		err = e.Encode(v)
	} else {
		err = e.EncodeElement(v, start)
	}
	if err != nil {
		return err
	}
	toks, err := collect(xml.NewDecoder(&b))
	w.toks = append(w.toks, toks...)
	return err
}

// stanzas splits what was written into top-level elements.
func (w *replies) stanzas() [][]xml.Token {
	var out [][]xml.Token
	depth, first := 0, 0
	for i, t := range w.toks {
		switch t.(type) {
		case xml.StartElement:
			if depth == 0 {
				first = i
			}
			depth++
		case xml.EndElement:
			if depth--; depth == 0 {
				out = append(out, w.toks[first:i+1])
			}
		}
	}
	return out
}
