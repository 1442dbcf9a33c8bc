// Package wire reads and writes the XML streams of RFC 6120 §4 on a
// connection: stream headers, one top-level element at a time with a size
// limit, stream errors, and an outgoing queue served by its own goroutine.
//
// It knows nothing about authentication or stanzas' meaning; the c2s and
// component packages build their protocols on it.
package wire

import (
	"bufio"
	"encoding/xml"
	"errors"
	"io"
	"sync/atomic"
	"time"

	"mellium.im/xmpp/stream"
)

// NSStream is the namespace of the stream element (RFC 6120 §4.8.1).
const NSStream = "http://etherx.jabber.org/streams"

// errTooBig is returned by the byte reader once an element outgrows the limit.
var errTooBig = errors.New("wire: element exceeds the size limit")

// errTooManyAttrs is returned by the byte reader once a tag has more
// attributes than the token limit.
var errTooManyAttrs = errors.New("wire: tag has too many attributes")

// ErrStreamEnd is returned by Reader.Next when the peer closed its stream
// with </stream:stream>.
var ErrStreamEnd = errors.New("wire: stream closed by peer")

// ErrInterrupted is returned by Reader.Next after Interrupt.
var ErrInterrupted = errors.New("wire: reading interrupted")

// Reader reads an XML stream, one top-level element at a time, within
// Limits (RFC 6120 §13.12 item 4): the limits are checked token by token as
// the element arrives, so a peer never makes the reader hold more than the
// limits allow, whatever it sends. See docs/security.md.
type Reader struct {
	src *limitReader
	d   *xml.Decoder
	lim Limits

	conn        Deadliner
	elemTimeout time.Duration
	interrupted atomic.Bool
}

// Deadliner is the part of a net.Conn that Reader needs to bound the time
// a half-received element may take.
type Deadliner interface {
	SetReadDeadline(t time.Time) error
}

// NewReader returns a Reader of r whose elements must keep within lim;
// zero fields of lim take the defaults (see Limits).
func NewReader(r io.Reader, lim Limits) *Reader {
	rd := &Reader{}
	rd.SetLimits(lim)
	rd.Reset(r)
	return rd
}

// SetLimits changes the limits from the next element on: the c2s stream
// widens them after authentication. Zero fields take the defaults.
func (r *Reader) SetLimits(lim Limits) { r.lim = lim.withDefaults() }

// SetElementTimeout makes Next fail with a connection-timeout stream error
// when an element, once its first byte was read, is not complete within d:
// a peer cannot hold a half-sent element, and the memory it takes, forever.
// conn is the connection the reader reads (its read deadline is set while
// an element arrives and cleared after). Zero d switches the timeout off.
// Use it only when nothing else sets conn's read deadline; stop a blocked
// Next with Interrupt.
func (r *Reader) SetElementTimeout(conn Deadliner, d time.Duration) {
	r.conn, r.elemTimeout = conn, d
}

// Interrupt makes a Next blocked on conn (see SetElementTimeout), and every
// later one, return ErrInterrupted, even when Next is between setting and
// clearing the element deadline. It may be called from any goroutine.
func (r *Reader) Interrupt() {
	r.interrupted.Store(true)
	if r.conn != nil {
		_ = r.conn.SetReadDeadline(time.Now())
	}
}

// setDeadline sets conn's read deadline unless interrupted: the flag is
// checked after the deadline is set, and Interrupt sets the flag before
// its own deadline, so an Interrupt is never undone.
func (r *Reader) setDeadline(t time.Time) error {
	_ = r.conn.SetReadDeadline(t)
	if r.interrupted.Load() {
		_ = r.conn.SetReadDeadline(time.Now())
		return ErrInterrupted
	}
	return nil
}

// Reset makes the reader read a new stream from r, discarding anything
// buffered: after STARTTLS, r is the TLS connection.
func (r *Reader) Reset(src io.Reader) {
	r.src = &limitReader{r: bufio.NewReader(src), attrBudget: r.lim.Tokens}
	r.Restart()
}

// Restart makes the reader expect a new stream header on the same bytes, as
// after SASL success (RFC 6120 §6.4.6).
func (r *Reader) Restart() {
	r.d = xml.NewDecoder(r.src)
	r.d.Strict = true
}

// Buffered reports how many bytes were received but not yet read. Before
// STARTTLS it must be zero: bytes sent ahead of the TLS handshake would be
// taken as if they had been protected (RFC 6120 §5.4.3.3).
func (r *Reader) Buffered() int { return r.src.r.Buffered() }

// Header reads the optional XML declaration and the opening stream tag.
func (r *Reader) Header() (Header, error) {
	if err := r.skipSpace(); err != nil {
		return Header{}, err
	}
	for {
		tok, err := r.d.Token()
		if err != nil {
			return Header{}, r.readErr(err)
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			if t.Target != "xml" {
				return Header{}, &Error{Cond: stream.RestrictedXML, Text: "processing instructions are not allowed"}
			}
		case xml.CharData:
			if !isSpace(t) {
				return Header{}, &Error{Cond: stream.NotWellFormed, Text: "text before the stream header"}
			}
		case xml.StartElement:
			return parseHeader(t)
		default:
			return Header{}, &Error{Cond: stream.RestrictedXML, Text: "comments and directives are not allowed"}
		}
	}
}

// Next returns the next top-level element, skipping whitespace between
// elements (whitespace keepalives, RFC 6120 §4.6.1). It returns ErrStreamEnd
// when the peer closes its stream, an *Error for protocol violations, and
// other errors for a broken connection.
func (r *Reader) Next() (Element, error) {
	if r.interrupted.Load() {
		return Element{}, ErrInterrupted
	}
	if err := r.skipSpace(); err != nil {
		if r.interrupted.Load() {
			return Element{}, ErrInterrupted
		}
		return Element{}, err
	}
	if r.conn != nil && r.elemTimeout > 0 {
		if err := r.setDeadline(time.Now().Add(r.elemTimeout)); err != nil {
			return Element{}, err
		}
		el, err := r.next()
		if err != nil {
			if r.interrupted.Load() {
				return Element{}, ErrInterrupted
			}
			if se := TimeoutError(err, "the element was not completed in time"); se != nil {
				return Element{}, se
			}
			return Element{}, err
		}
		return el, r.setDeadline(time.Time{})
	}
	return r.next()
}

// next reads the element whose '<' is next.
func (r *Reader) next() (Element, error) {
	// skipSpace left '<' next, so the token is markup, never text.
	tok, err := r.d.Token()
	if err != nil {
		return Element{}, r.readErr(err)
	}
	switch t := tok.(type) {
	case xml.StartElement:
		if err := uniqueAttrs(t); err != nil {
			return Element{}, err
		}
		return r.element(t)
	case xml.EndElement:
		return Element{}, ErrStreamEnd
	default:
		return Element{}, &Error{Cond: stream.RestrictedXML, Text: "comments, processing instructions and directives are not allowed"}
	}
}

// skipSpace consumes whitespace (keepalives cost nothing against the size
// limit) and checks that an element, or the stream's end, comes next: text
// where a stanza must start is refused at once rather than buffered until
// the next '<'. It then renews the size budget for what follows.
func (r *Reader) skipSpace() error {
	for {
		b, err := r.src.r.Peek(1)
		if err != nil {
			return err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			_, _ = r.src.r.ReadByte()
			continue
		case '<':
			r.src.allow(r.lim.Bytes, r.lim.Tokens)
			return nil
		}
		return &Error{Cond: stream.NotWellFormed, Text: "text where an element must start"}
	}
}

// element reads the rest of the element that start opened, checking the
// depth and token limits at each token, before keeping it: the decoder
// holds one token and one entry per open element, so both stay within the
// limits too.
func (r *Reader) element(start xml.StartElement) (Element, error) {
	el := Element{Start: start.Copy()}
	tokens := 1 + len(start.Attr)
	if err := r.lim.checkTokens(tokens); err != nil {
		return Element{}, err
	}
	for depth := 1; ; {
		tok, err := r.d.Token()
		if err != nil {
			return Element{}, r.readErr(err)
		}
		tokens++
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			tokens += len(t.Attr)
			if err := r.lim.checkDepth(depth); err != nil {
				return Element{}, err
			}
			if err := r.lim.checkTokens(tokens); err != nil {
				return Element{}, err
			}
			if err := uniqueAttrs(t); err != nil {
				return Element{}, err
			}
			el.Inner = append(el.Inner, t.Copy())
			continue
		}
		if err := r.lim.checkTokens(tokens); err != nil {
			return Element{}, err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			depth--
			if depth == 0 {
				return el, nil
			}
			el.Inner = append(el.Inner, t)
		case xml.CharData:
			el.Inner = append(el.Inner, t.Copy())
		default:
			return Element{}, &Error{Cond: stream.RestrictedXML, Text: "comments, processing instructions and directives are not allowed"}
		}
	}
}

// readErr maps decoder errors to stream errors: the size limit to
// policy-violation, errors of the connection to themselves, and anything
// else the decoder found (syntax, an XML declaration other than 1.0) to
// not-well-formed.
func (r *Reader) readErr(err error) error {
	switch {
	case errors.Is(err, errTooBig) || errors.Is(r.src.err, errTooBig):
		return &Error{Cond: stream.PolicyViolation, Text: "stanza too large"}
	case errors.Is(err, errTooManyAttrs) || errors.Is(r.src.err, errTooManyAttrs):
		return r.lim.checkTokens(r.lim.Tokens + 1)
	case r.src.err != nil:
		// The connection failed or closed; the decoder's complaint is a
		// consequence.
		return r.src.err
	}
	var syn *xml.SyntaxError
	if errors.As(err, &syn) {
		return &Error{Cond: stream.NotWellFormed, Text: syn.Msg}
	}
	return &Error{Cond: stream.NotWellFormed, Text: err.Error()}
}

// uniqueAttrs checks that no attribute name appears twice in a start tag
// (XML 1.0 §3.1 "Unique Att Spec", and Namespaces in XML §6.3 for names
// resolved to the same namespace). encoding/xml accepts duplicates, and
// readers disagree about which one counts: routing could read one from or to
// and a serialiser keep the other, so a component could send as any JID.
func uniqueAttrs(start xml.StartElement) error {
	dup := func(a xml.Attr) error {
		return &Error{Cond: stream.NotWellFormed, Text: "attribute " + a.Name.Local + " appears twice"}
	}
	if len(start.Attr) <= 8 {
		for i, a := range start.Attr {
			for _, b := range start.Attr[:i] {
				if a.Name == b.Name {
					return dup(a)
				}
			}
		}
		return nil
	}
	// Many attributes: a set keeps the check linear.
	seen := make(map[xml.Name]struct{}, len(start.Attr))
	for _, a := range start.Attr {
		if _, ok := seen[a.Name]; ok {
			return dup(a)
		}
		seen[a.Name] = struct{}{}
	}
	return nil
}

func isSpace(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
		default:
			return false
		}
	}
	return true
}

// limitReader is the io.ByteReader the decoder reads from (so the decoder
// adds no buffering of its own and every byte it consumes is counted). It
// fails once more bytes than allowed have been read since the last allow,
// and once a tag has more attributes than allowed: the decoder builds a
// whole start tag before returning it, so this is where a tag with
// thousands of attributes is stopped before it is built.
type limitReader struct {
	r          *bufio.Reader
	budget     int64
	attrBudget int  // attributes allowed in one tag
	attrs      int  // attributes seen in the current tag
	scan       scan // where the bytes read so far end
	err        error
}

func (l *limitReader) allow(n int64, attrs int) { l.budget, l.attrBudget = n, attrs }

// ReadByte implements io.ByteReader, counting against the budgets.
func (l *limitReader) ReadByte() (byte, error) {
	if l.budget <= 0 {
		l.err = errTooBig
		return 0, errTooBig
	}
	b, err := l.r.ReadByte()
	if err != nil {
		l.err = err
		return 0, err
	}
	l.budget--
	if l.scan.step(b, &l.attrs) && l.attrs > l.attrBudget {
		l.err = errTooManyAttrs
		return 0, errTooManyAttrs
	}
	return b, nil
}

// Read is never used by xml.Decoder on an io.ByteReader; it exists for
// io.Reader and refuses, so nothing can bypass the budgets.
func (l *limitReader) Read([]byte) (int, error) {
	return 0, errors.New("wire: limitReader is read byte by byte")
}

// scan is the state of a minimal lexer that finds attributes in tags: an
// attribute is the '=' of name="value" outside quotes. CDATA sections are
// skipped; comments, processing instructions and declarations are skipped
// up to their first '>' (the decoder refuses them anyway, except the XML
// declaration, which has no '>' inside).
type scan struct {
	state   scanState
	quote   byte // the closing quote while in an attribute value
	matched int  // bytes of "[CDATA[" or of "]]>" matched so far
}

type scanState uint8

const (
	scanText  scanState = iota // character data
	scanOpen                   // after '<'
	scanBang                   // after "<!", matching "[CDATA["
	scanTag                    // inside a start or end tag
	scanValue                  // inside a quoted attribute value
	scanCDATA                  // inside a CDATA section
	scanOther                  // inside a comment, PI or declaration
)

const cdataOpen, cdataClose = "[CDATA[", "]]>"

// step advances the lexer by b and reports whether it counted an
// attribute in *attrs (reset to zero at each tag).
func (s *scan) step(b byte, attrs *int) bool {
	switch s.state {
	case scanText:
		if b == '<' {
			s.state = scanOpen
		}
	case scanOpen:
		switch b {
		case '!':
			s.state, s.matched = scanBang, 0
		case '?':
			s.state = scanOther
		default:
			s.state, *attrs = scanTag, 0
		}
	case scanBang:
		switch {
		case b == cdataOpen[s.matched]:
			s.matched++
			if s.matched == len(cdataOpen) {
				s.state, s.matched = scanCDATA, 0
			}
		case b == '>':
			s.state = scanText
		default:
			s.state = scanOther
		}
	case scanTag:
		switch b {
		case '"', '\'':
			s.state, s.quote = scanValue, b
		case '=':
			*attrs++
			return true
		case '>':
			s.state = scanText
		}
	case scanValue:
		if b == s.quote {
			s.state = scanTag
		}
	case scanCDATA:
		switch {
		case b == cdataClose[s.matched]:
			s.matched++
			if s.matched == len(cdataClose) {
				s.state, s.matched = scanText, 0
			}
		case b == ']':
			// Only after "]]": "]]]>" still ends the section.
			s.matched = 2
		default:
			s.matched = 0
		}
	case scanOther:
		if b == '>' {
			s.state = scanText
		}
	}
	return false
}
