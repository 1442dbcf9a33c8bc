package archive

import (
	"context"
	"errors"
	"strconv"

	"mellium.im/xmpp/delay"
	"mellium.im/xmpp/form"
	"mellium.im/xmpp/forward"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/paging"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/rawstanza"
	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
)

// mamAnswer renders and routes the answers to one MAM IQ. Every stanza is
// serialised as host.RawRouter.RouteRaw takes it: no xmlns on the top-level
// element, each child declaring its own namespace.
type mamAnswer struct {
	h     *MAMHandler
	iq    stanza.IQ
	owner jid.JID
	reply mamReply
}

// mamReply delivers one serialised stanza to the requester.
type mamReply func(ctx context.Context, raw []byte) error

// mamForm is the answer to form discovery (XEP-0313 §4.1.5): the fields
// every server must support, those of urn:xmpp:mam:2#extended and
// include-groupchat, typed as §4.1.5 shows them; ids is open to any value
// (XEP-0122).
const mamForm = `<query xmlns="` + NSMAM + `"><x xmlns="` + form.NS + `" type="form">` +
	`<field type="hidden" var="FORM_TYPE"><value>` + NSMAM + `</value></field>` +
	`<field type="jid-single" var="with"></field>` +
	`<field type="text-single" var="start"></field>` +
	`<field type="text-single" var="end"></field>` +
	`<field type="text-single" var="before-id"></field>` +
	`<field type="text-single" var="after-id"></field>` +
	`<field type="list-multi" var="ids"><validate xmlns="` + nsXDataValidate + `" datatype="xs:string"><open></open></validate></field>` +
	`<field type="boolean" var="include-groupchat"></field>` +
	`</x></query>`

// nsXDataValidate is the XEP-0122 data forms validation namespace.
const nsXDataValidate = "http://jabber.org/protocol/xdata-validate"

// error answers the IQ with err, a stanza.Error (anything else becomes
// internal-server-error).
func (a mamAnswer) error(ctx context.Context, err error) error {
	var se stanza.Error
	if !errors.As(err, &se) {
		se = rawstanza.Error(stanza.Cancel, stanza.InternalServerError, "")
	}
	raw := a.appendIQ(nil, stanza.ErrorIQ)
	// A stanza.Error renders to well-formed tokens: Append cannot fail.
	raw, _ = xmlenc.Append(raw, se.TokenReader(), ns.Client)
	return a.send(ctx, append(raw, "</iq>"...))
}

// form answers form discovery.
func (a mamAnswer) form(ctx context.Context) error {
	raw := a.appendIQ(nil, stanza.ResultIQ)
	raw = append(raw, mamForm...)
	return a.send(ctx, append(raw, "</iq>"...))
}

// metadata answers an archive metadata query (XEP-0313 §6) with the
// archive's first and last records, or an empty <metadata/> for an empty
// archive (nil records).
func (a mamAnswer) metadata(ctx context.Context, first, last *Record) error {
	raw := a.appendIQ(nil, stanza.ResultIQ)
	raw = append(raw, `<metadata xmlns="`+NSMAM+`">`...)
	if first != nil && last != nil {
		raw = appendMetadataRecord(raw, "start", first)
		raw = appendMetadataRecord(raw, "end", last)
	}
	return a.send(ctx, append(raw, "</metadata></iq>"...))
}

// appendMetadataRecord appends <start/> or <end/> (local) for rec.
func appendMetadataRecord(dst []byte, local string, rec *Record) []byte {
	dst = append(dst, '<')
	dst = append(dst, local...)
	dst = append(dst, ` id="`...)
	dst = xmlenc.AppendEscaped(dst, rec.ID, true)
	dst = append(dst, `" timestamp="`...)
	dst = rec.Time.UTC().AppendFormat(dst, stampLayout)
	dst = append(dst, `"></`...)
	dst = append(dst, local...)
	return append(dst, '>')
}

// results sends one message per record of page, oldest first or, for a
// flipped page, newest first; then the IQ result with <fin/> (XEP-0313
// §4.2, §4.3).
func (a mamAnswer) results(ctx context.Context, q mamQuery, page Page) error {
	var buf []byte
	for i := range page.Records {
		rec := page.Records[i]
		if q.flip {
			rec = page.Records[len(page.Records)-1-i]
		}
		var ok bool
		buf, ok = a.appendResult(buf[:0], q.queryID, rec)
		if !ok {
			a.h.log.WarnContext(ctx, "mixpam: archived stanza is not an element; sent without it",
				"owner", a.owner.String(), "id", rec.ID)
		}
		if err := a.send(ctx, buf); err != nil {
			return err
		}
	}
	buf = a.appendIQ(buf[:0], stanza.ResultIQ)
	buf = append(buf, `<fin xmlns="`+NSMAM+`"`...)
	if page.Complete {
		buf = append(buf, ` complete="true"`...)
	}
	buf = append(buf, `><set xmlns="`+paging.NS+`">`...)
	if n := len(page.Records); n > 0 {
		buf = append(buf, "<first"...)
		if index, known := mamFirstIndex(q.query, page); known {
			buf = append(buf, ` index="`...)
			buf = strconv.AppendInt(buf, int64(index), 10)
			buf = append(buf, '"')
		}
		buf = append(buf, '>')
		buf = xmlenc.AppendEscaped(buf, page.Records[0].ID, false)
		buf = append(buf, "</first><last>"...)
		buf = xmlenc.AppendEscaped(buf, page.Records[n-1].ID, false)
		buf = append(buf, "</last>"...)
	}
	buf = append(buf, "<count>"...)
	buf = strconv.AppendInt(buf, int64(page.Count), 10)
	buf = append(buf, "</count></set></fin></iq>"...)
	return a.send(ctx, buf)
}

// mamFirstIndex returns the position of the page's first record in the
// whole selection, when the query tells it without asking the store: the
// first page, or the last.
func mamFirstIndex(q Query, page Page) (int, bool) {
	switch {
	case q.After == "" && q.Before == "" && !q.Last:
		return 0, true
	case q.Last && q.Before == "":
		return page.Count - len(page.Records), true
	}
	return 0, false
}

// appendResult appends the result message for rec. It reports false when
// rec's stanza is not an element, which it then leaves out of <forwarded/>
// (XEP-0313 §3.2 allows omitting a message that cannot be shown).
func (a mamAnswer) appendResult(dst []byte, queryID string, rec Record) ([]byte, bool) {
	dst = append(dst, `<message to="`...)
	dst = xmlenc.AppendEscaped(dst, a.iq.From.String(), true)
	dst = append(dst, `" from="`...)
	dst = xmlenc.AppendEscaped(dst, a.owner.String(), true)
	dst = append(dst, `" id="`...)
	dst = xmlenc.AppendEscaped(dst, rec.ID, true)
	dst = append(dst, `"><result xmlns="`+NSMAM+`"`...)
	if queryID != "" {
		dst = append(dst, ` queryid="`...)
		dst = xmlenc.AppendEscaped(dst, queryID, true)
		dst = append(dst, '"')
	}
	dst = append(dst, ` id="`...)
	dst = xmlenc.AppendEscaped(dst, rec.ID, true)
	dst = append(dst, `"><forwarded xmlns="`+forward.NS+`"><delay xmlns="`+delay.NS+`" stamp="`...)
	dst = rec.Time.UTC().AppendFormat(dst, stampLayout)
	dst = append(dst, `"></delay>`...)
	dst, ok := appendForwardedStanza(dst, rec.Stanza)
	return append(dst, "</forwarded></result></message>"...), ok
}

// appendForwardedStanza appends an archived stanza inside <forwarded/>,
// where it must declare its namespace (XEP-0297 §3): it was archived, as
// host.RawRouter stanzas are, without one. It appends nothing and reports
// false for bytes that do not start with an element name.
func appendForwardedStanza(dst, raw []byte) ([]byte, bool) {
	end := 1
	for end < len(raw) && !isNameEnd(raw[end]) {
		end++
	}
	if len(raw) == 0 || raw[0] != '<' || end == 1 || end == len(raw) {
		return dst, false
	}
	dst = append(dst, raw[:end]...)
	dst = append(dst, ` xmlns="`+ns.Client+`"`...)
	return append(dst, raw[end:]...), true
}

func isNameEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '/', '>':
		return true
	}
	return false
}

// appendIQ appends the start tag of an IQ answer from the archive's address
// to the requester, with the request's id.
func (a mamAnswer) appendIQ(dst []byte, typ stanza.IQType) []byte {
	// The answer comes from the entity the query was addressed to, so
	// that a client matching answers on the request's to finds it; the
	// owner's archive when it had no to.
	from := a.iq.To
	if from.String() == "" {
		from = a.owner
	}
	dst = rawstanza.AppendIQStart(dst, typ, a.iq.ID, from, a.iq.From)
	return append(dst, '>')
}

func (a mamAnswer) send(ctx context.Context, raw []byte) error {
	if err := a.reply(ctx, raw); err != nil {
		a.h.log.WarnContext(ctx, "mixpam: delivering a MAM answer failed", "to", a.iq.From.String(), "err", err)
		return err
	}
	return nil
}

// stampLayout writes XEP-0082 timestamps with exactly six fractional digits:
// XEP-0082 allows any number, but clients parse no more than microseconds
// (slixmpp 1.8 rejects nine digits and its MAM handler fails), and a fixed
// width keeps stamps sortable as strings.
const stampLayout = "2006-01-02T15:04:05.000000Z07:00"
