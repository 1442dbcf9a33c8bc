package disco

import (
	"encoding/xml"
	"io"

	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/rawstanza"
	"github.com/mixpam/mixpam/internal/xmltok"
)

// readQuery reads the payload of a disco#info request: exactly one element
// (RFC 6120 §8.2.3), a disco#info <query/>, whose children are ignored. It
// returns the query's node attribute, or the stanza error to answer with.
func readQuery(payload xml.TokenReader) (string, *stanza.Error) {
	t := newTokens(payload)
	start, ok, err := t.element()
	switch {
	case err == io.EOF:
		return "", requestError(stanza.BadRequest, stanza.Modify, "an IQ request needs a payload")
	case err != nil || !ok:
		return "", requestError(stanza.BadRequest, stanza.Modify, "the payload is not well-formed XML")
	case start.Name != xml.Name{Space: nsInfo, Local: "query"}:
		return "", requestError(stanza.ServiceUnavailable, stanza.Cancel, "only disco#info queries are answered here")
	}
	if err := t.skip(); err != nil {
		return "", requestError(stanza.BadRequest, stanza.Modify, "the payload is not well-formed XML")
	}
	_, ok, err = t.element()
	switch {
	case err == io.EOF:
		return xmltok.AttrValue(start, "node"), nil
	case ok:
		return "", requestError(stanza.BadRequest, stanza.Modify, "an IQ request carries exactly one payload element")
	default:
		return "", requestError(stanza.BadRequest, stanza.Modify, "the payload is not well-formed XML")
	}
}

func requestError(cond stanza.Condition, typ stanza.ErrorType, text string) *stanza.Error {
	se := rawstanza.Error(typ, cond, text)
	return &se
}
