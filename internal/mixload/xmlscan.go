package mixload

import (
	"bytes"
	"errors"
	"io"
)

// maxElement bounds one top-level element (a stanza or a stream feature)
// read from the server; a larger one ends the connection.
const maxElement = 1 << 20

// errStreamEnd is returned by next when the server closes its stream.
var errStreamEnd = errors.New("mixload: the server closed the stream")

// errMalformed is returned for bytes that are not a well-formed stream.
var errMalformed = errors.New("mixload: malformed XML from the server")

// splitter cuts the server's side of an XMPP stream into top-level
// elements without decoding them: the load client must cost far less per
// stanza than the server it measures, so it scans bytes for tag
// boundaries (with quoted attribute values, comments, processing
// instructions and CDATA sections) and looks at the few attributes and
// markers it needs. It is no XML validator: a server sending well-formed
// XML is cut correctly, anything else ends the connection or is ignored.
type splitter struct {
	r          io.Reader
	buf        []byte
	start, end int
}

func newSplitter(r io.Reader) *splitter {
	return &splitter{r: r, buf: make([]byte, 64<<10)}
}

// buffered reports whether bytes are waiting in the buffer (before a TLS
// handshake there must be none).
func (s *splitter) buffered() bool { return s.end > s.start }

// fill reads more bytes, compacting or growing the buffer as needed.
func (s *splitter) fill() error {
	if s.start > 0 {
		s.end = copy(s.buf, s.buf[s.start:s.end])
		s.start = 0
	}
	if s.end == len(s.buf) {
		if len(s.buf) >= maxElement {
			return errors.New("mixload: element from the server larger than 1 MiB")
		}
		s.buf = append(s.buf, make([]byte, len(s.buf))...)
	}
	n, err := s.r.Read(s.buf[s.end:])
	s.end += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// header reads up to and including the server's <stream:stream> start tag
// (after an optional XML declaration).
func (s *splitter) header() error {
	for {
		b := s.buf[s.start:s.end]
		for {
			i := bytes.IndexByte(b, '<')
			if i < 0 {
				break
			}
			n, kind := tagLen(b[i:])
			if n == 0 {
				break
			}
			consumed := len(s.buf[s.start:s.end]) - len(b) + i + n
			if kind == tagStart {
				s.start += consumed
				return nil
			}
			b = b[i+n:]
		}
		if err := s.fill(); err != nil {
			return err
		}
	}
}

// next returns the next top-level element of the stream. The bytes are
// valid until the following call.
func (s *splitter) next() ([]byte, error) {
	for {
		n, err := elementLen(s.buf[s.start:s.end])
		if err != nil {
			return nil, err
		}
		if n > 0 {
			b := s.buf[s.start : s.start+n]
			s.start += n
			b = bytes.TrimLeft(b, " \t\r\n")
			return b, nil
		}
		if err := s.fill(); err != nil {
			return nil, err
		}
	}
}

type tagKind int

const (
	tagStart tagKind = iota
	tagEnd
	tagEmpty
	tagOther // comment, processing instruction, CDATA, declaration
)

// tagLen returns the length of the markup at the start of b (which starts
// with '<') and its kind, or 0 when b ends first.
func tagLen(b []byte) (int, tagKind) {
	if len(b) < 2 {
		return 0, 0
	}
	switch b[1] {
	case '?':
		return until(b, "?>"), tagOther
	case '!':
		switch {
		case bytes.HasPrefix(b, []byte("<!--")):
			return until(b, "-->"), tagOther
		case bytes.HasPrefix(b, []byte("<![CDATA[")):
			return until(b, "]]>"), tagOther
		case len(b) < 9:
			return 0, 0
		}
		return until(b, ">"), tagOther
	case '/':
		return until(b, ">"), tagEnd
	}
	var quote byte
	for i := 1; i < len(b); i++ {
		c := b[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			if b[i-1] == '/' {
				return i + 1, tagEmpty
			}
			return i + 1, tagStart
		}
	}
	return 0, 0
}

// until returns the length of b up to and including the first occurrence
// of end, or 0.
func until(b []byte, end string) int {
	i := bytes.Index(b, []byte(end))
	if i < 0 {
		return 0
	}
	return i + len(end)
}

// elementLen returns the length of the first complete top-level element of
// b, whitespace before it included, or 0 when it is not complete yet.
func elementLen(b []byte) (int, error) {
	depth := 0
	i := 0
	for i < len(b) {
		j := bytes.IndexByte(b[i:], '<')
		if j < 0 {
			if depth == 0 && len(bytes.TrimLeft(b[i:], " \t\r\n")) > 0 {
				return 0, errMalformed
			}
			return 0, nil
		}
		if depth == 0 && len(bytes.TrimLeft(b[i:i+j], " \t\r\n")) > 0 {
			return 0, errMalformed
		}
		i += j
		n, kind := tagLen(b[i:])
		if n == 0 {
			return 0, nil
		}
		i += n
		switch kind {
		case tagStart:
			depth++
		case tagEnd:
			if depth == 0 {
				return 0, errStreamEnd
			}
			depth--
			if depth == 0 {
				return i, nil
			}
		case tagEmpty:
			if depth == 0 {
				return i, nil
			}
		}
	}
	return 0, nil
}

// name returns the qualified name of the element el starts with.
func name(el []byte) []byte {
	if len(el) < 2 || el[0] != '<' {
		return nil
	}
	i := 1
	for i < len(el) && !isSpace(el[i]) && el[i] != '>' && el[i] != '/' {
		i++
	}
	return el[1:i]
}

// attr returns the raw value of attribute key of the start tag el begins
// with, and whether it is there. Values are not unescaped: the load client
// compares them only with values it chose itself.
func attr(el []byte, key string) ([]byte, bool) {
	n, _ := tagLen(el)
	if n == 0 {
		return nil, false
	}
	tag := el[:n]
	i := len(name(tag)) + 1
	for i < len(tag) {
		for i < len(tag) && isSpace(tag[i]) {
			i++
		}
		k := i
		for i < len(tag) && tag[i] != '=' && !isSpace(tag[i]) && tag[i] != '>' && tag[i] != '/' {
			i++
		}
		attrName := tag[k:i]
		for i < len(tag) && (isSpace(tag[i]) || tag[i] == '=') {
			i++
		}
		if i >= len(tag) || tag[i] != '"' && tag[i] != '\'' {
			return nil, false
		}
		q := tag[i]
		end := bytes.IndexByte(tag[i+1:], q)
		if end < 0 {
			return nil, false
		}
		v := tag[i+1 : i+1+end]
		i += end + 2
		if string(attrName) == key {
			return v, true
		}
	}
	return nil, false
}

// text returns the character data right inside the first element named
// local (any prefix) within el, up to the next tag.
func text(el []byte, local string) ([]byte, bool) {
	for i := 0; i < len(el); {
		j := bytes.IndexByte(el[i:], '<')
		if j < 0 {
			return nil, false
		}
		i += j
		n, kind := tagLen(el[i:])
		if n == 0 {
			return nil, false
		}
		nm := name(el[i:])
		if k := bytes.IndexByte(nm, ':'); k >= 0 {
			nm = nm[k+1:]
		}
		if string(nm) == local && (kind == tagStart || kind == tagEmpty) {
			if kind == tagEmpty {
				return nil, true
			}
			rest := el[i+n:]
			end := bytes.IndexByte(rest, '<')
			if end < 0 {
				return nil, false
			}
			return rest[:end], true
		}
		i += n
	}
	return nil, false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
