package presence

import (
	"encoding/xml"
	"io"

	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/splice"
)

// capture renders the presence p, from the JID from (p.From as a string)
// and with the children payload yields, once, without a to attribute, into
// sc's capture buffer. It keeps p's type, id and xml:lang, as
// stanza.Presence.StartElement does, without rebuilding JID strings the
// caller already has.
func (sc *scratch) capture(p stanza.Presence, from string, payload xml.TokenReader) (splice.Stanza, error) {
	attrs := sc.attrs[:0]
	if p.Type != "" {
		attrs = append(attrs, xml.Attr{Name: xml.Name{Local: "type"}, Value: string(p.Type)})
	}
	attrs = append(attrs, xml.Attr{Name: xml.Name{Local: "from"}, Value: from})
	if p.ID != "" {
		attrs = append(attrs, xml.Attr{Name: xml.Name{Local: "id"}, Value: p.ID})
	}
	if p.Lang != "" {
		attrs = append(attrs, xml.Attr{Name: xml.Name{Space: xmlNS, Local: "lang"}, Value: p.Lang})
	}
	if sc.end == nil {
		sc.end = xml.EndElement{Name: xml.Name{Local: "presence"}}
	}
	sc.stanza = stanzaReader{
		start:   xml.StartElement{Name: xml.Name{Space: p.XMLName.Space, Local: "presence"}, Attr: attrs},
		payload: payload,
		end:     sc.end,
	}
	s, err := splice.Capture(sc.buf, &sc.stanza)
	sc.stanza = stanzaReader{} // let go of payload
	if err != nil {
		return splice.Stanza{}, err
	}
	sc.buf = s.Bytes()
	return s, nil
}

const xmlNS = "http://www.w3.org/XML/1998/namespace"

// stanzaReader yields a start element, the tokens of payload (which may be
// nil) and end, the matching end element.
type stanzaReader struct {
	start   xml.StartElement
	payload xml.TokenReader
	end     xml.Token
	state   int // 0: start next, 1: payload, 2: done
}

// Token implements xml.TokenReader.
func (r *stanzaReader) Token() (xml.Token, error) {
	switch r.state {
	case 0:
		r.state = 1
		return r.start, nil
	case 1:
		if r.payload != nil {
			tok, err := r.payload.Token()
			if err != io.EOF {
				return tok, err
			}
			r.payload = nil
			if tok != nil {
				return tok, nil
			}
		}
		r.state = 2
		return r.end, nil
	}
	return nil, io.EOF
}
