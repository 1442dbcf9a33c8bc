package pam

import (
	"encoding/xml"
	"io"
	"strings"
	"unicode/utf8"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/internal/xmltok"
	"github.com/mixpam/mixpam/ns"
)

// fanOutStanza yields the groupchat message as the fan-out delivers it: the
// start element, the children as r yields them minus any stanza-id claiming
// to be by the user, then the user's own stanza-id, then the end element and
// io.EOF. It reads r up to the stanza's end element and no further, and
// supplies the end element when r ends just before it.
type fanOutStanza struct {
	r       xml.TokenReader
	user    jid.JID
	bare    string
	depth   int
	next    int          // index in frame of the next token to emit, once r is done
	frame   [4]xml.Token // start, stanza-id start, stanza-id end, end
	sidAttr [2]xml.Attr
}

// The tokens of fanOutStanza's frame, in order.
const (
	fanOutStart = iota
	fanOutSIDStart
	fanOutSIDEnd
	fanOutEnd
)

// newFanOutStanza returns the stanza reader for a message that gets the
// stanza id id by the bare JID bare (user's string form).
func newFanOutStanza(start xml.StartElement, r xml.TokenReader, user jid.JID, bare, id string) *fanOutStanza {
	s := &fanOutStanza{r: r, user: user, bare: bare}
	s.sidAttr = [2]xml.Attr{
		{Name: xml.Name{Local: "by"}, Value: bare},
		{Name: xml.Name{Local: "id"}, Value: id},
	}
	s.frame = [4]xml.Token{
		start,
		xml.StartElement{Name: xml.Name{Space: ns.StanzaID, Local: "stanza-id"}, Attr: s.sidAttr[:]},
		xml.EndElement{Name: xml.Name{Space: ns.StanzaID, Local: "stanza-id"}},
		xml.EndElement{Name: start.Name},
	}
	return s
}

// Token implements xml.TokenReader.
func (s *fanOutStanza) Token() (xml.Token, error) {
	switch {
	case s.next == fanOutStart:
		s.next, s.depth = fanOutSIDStart, 1
		return s.frame[fanOutStart], nil
	case s.depth == 0:
		if s.next > fanOutEnd {
			return nil, io.EOF
		}
		s.next++
		return s.frame[s.next-1], nil
	}
	for {
		tok, err := s.r.Token()
		switch t := tok.(type) {
		case xml.StartElement:
			if s.depth == 1 && s.forged(t) {
				if err == nil {
					err = xmlstream.Skip(s.r)
				}
				if err != nil {
					return nil, unexpectedEOF(err)
				}
				continue
			}
			s.depth++
		case xml.EndElement:
			s.depth--
			if s.depth == 0 {
				// The stanza's own end: add the stanza-id first. The end
				// element r gave is the one in frame.
				return s.Token()
			}
		}
		if tok == nil && err == io.EOF && s.depth == 1 {
			// r yields only the children (xmlstream.Inner).
			s.depth = 0
			return s.Token()
		}
		if tok == nil && err != nil {
			return nil, unexpectedEOF(err)
		}
		return tok, nil
	}
}

// unexpectedEOF turns io.EOF inside the stanza into io.ErrUnexpectedEOF.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// forged reports a <stanza-id xmlns='urn:xmpp:sid:0'/> whose by claims to be
// the user's bare JID: only this server may say that, so any such element
// that arrives is removed (XEP-0359 §5, rules 2 and 4).
func (s *fanOutStanza) forged(t xml.StartElement) bool {
	if t.Name.Local != "stanza-id" || xmltok.Space(t, "") != ns.StanzaID {
		return false
	}
	for _, a := range t.Attr {
		if a.Name.Space == "" && a.Name.Local == "by" && sameBareJID(a.Value, s.user, s.bare) {
			return true
		}
	}
	return false
}

// sameBareJID reports whether claim, a JID in any spelling, is user, whose
// canonical string form is bare. Parsing a JID costs more than the rest of
// the fan-out, and every channel message carries the channel's own
// stanza-id, so plain ASCII claims are decided without parsing: for them
// normalisation only folds case and drops a trailing dot from the domain.
func sameBareJID(claim string, user jid.JID, bare string) bool {
	if claim == bare {
		return true
	}
	if isPlainASCII(claim) && isPlainASCII(bare) {
		return strings.EqualFold(strings.TrimSuffix(claim, "."), bare)
	}
	j, err := jid.Parse(claim)
	return err == nil && j.Equal(user)
}

// isPlainASCII reports an ASCII string without an IDNA "xn--" label, which
// normalises to its lower-case form.
func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	for i := 0; i+4 <= len(s); i++ {
		if strings.EqualFold(s[i:i+4], "xn--") {
			return false
		}
	}
	return true
}
