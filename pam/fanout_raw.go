package pam

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/splice"
	"github.com/mixpam/mixpam/ns"
	"github.com/mixpam/mixpam/rawxml"
)

// ServeRaw is ServeMessage for a stanza the host holds as bytes: raw is one
// <message/> serialised as host.RawRouter.RouteRaw takes it (UTF-8, no XML
// declaration, no xmlns on the top-level element), such as a message a MIX
// service running in the host's process routed to the user's bare JID. It
// does what ServeMessage does, with the same checks, results and errors,
// and does not keep raw after it returns.
//
// It costs less than decoding raw for ServeMessage: a message in the plain
// subset of XML that servers write (package rawxml) is checked for
// well-formedness byte by byte and passed on as it is, with forged
// stanza-ids cut out and the user's own appended, instead of being decoded
// into tokens and written again. Anything outside that subset (a comment,
// CDATA, a prefixed element, an xmlns on the top-level element…) is decoded
// and served as ServeMessage serves it, so the two accept and refuse the
// same messages.
func (f *FanOut) ServeRaw(ctx context.Context, raw []byte) (FanOutResult, error) {
	sc := f.getScratch()
	defer f.putScratch(sc)
	top := &sc.scan.Top
	if !rawxml.ScanTag(raw, top) {
		return f.serveDecoded(ctx, raw)
	}
	to, from, typ, ok := rawAddressing(top)
	if !ok {
		return f.serveDecoded(ctx, raw)
	}
	if string(top.Name) != "message" || string(typ) != "groupchat" || len(to) == 0 {
		return FanOutResult{}, host.ErrNotHandled
	}
	user, bare, err := f.cache.parseBytes(to)
	if err != nil || user.Resourcepart() != "" {
		return FanOutResult{}, host.ErrNotHandled
	}
	sender, _, err := f.cache.parseBytes(from)
	if res, done, err := f.check(ctx, user, sender, err, string(from)); done {
		return res, err
	}
	return f.acceptRaw(ctx, sc, raw, user, bare, sender)
}

// serveDecoded decodes raw and serves it with ServeMessage.
func (f *FanOut) serveDecoded(ctx context.Context, raw []byte) (FanOutResult, error) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	start, err := rawStart(d)
	if err != nil {
		// Not even a start tag: no message for the fan-out to look at.
		return FanOutResult{}, host.ErrNotHandled
	}
	return f.ServeMessage(ctx, start, d)
}

// rawStart returns the first start element d yields.
func rawStart(d *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := d.Token()
		if err != nil {
			return xml.StartElement{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.ProcInst, xml.Comment, xml.CharData:
			// A prolog, as the decoder would let ServeMessage's host skip.
			if c, ok := t.(xml.CharData); ok && len(bytes.TrimSpace(c)) > 0 {
				return xml.StartElement{}, io.ErrUnexpectedEOF
			}
		default:
			return xml.StartElement{}, io.ErrUnexpectedEOF
		}
	}
}

// rawAddressing returns the to, from and type attributes of a message's
// start tag as written. ok is false when the tag has an xmlns attribute
// (the message is then not in the stanza namespace of the stream, or says
// so itself: either way the decoder decides) or when one of the values holds
// a reference (which the decoder expands).
func rawAddressing(t *rawxml.Tag) (to, from, typ []byte, ok bool) {
	for _, a := range t.Attrs {
		switch string(a.Name) {
		case "xmlns":
			return nil, nil, nil, false
		case "to":
			to = a.Value
		case "from":
			from = a.Value
		case "type":
			typ = a.Value
		default:
			continue
		}
		if a.HasRef() {
			return nil, nil, nil, false
		}
	}
	return to, from, typ, true
}

// acceptRaw is accept for a message held as bytes: when raw is in the
// subset, it checks raw, copies it without to and without forged
// stanza-ids, appends the user's stanza-id and goes on as accept does; when
// it is not, it decodes it for accept.
func (f *FanOut) acceptRaw(ctx context.Context, sc *fanOutScratch, raw []byte, user jid.JID, bare string, sender jid.JID) (FanOutResult, error) {
	if !sc.captureRaw(raw, user, bare) {
		d := xml.NewDecoder(bytes.NewReader(raw))
		start, err := rawStart(d)
		if err != nil {
			return f.fail(ctx, &f.stats.malformed, user, sender.Bare().String(), fmt.Errorf("pam: reading groupchat message: %w", err))
		}
		return f.accept(ctx, start, d, user, bare, sender)
	}
	id, stamp := f.ids.Next()
	sc.capture = appendStanzaID(sc.capture, bare, id)
	sc.capture = append(sc.capture, "</message>"...)
	return f.archiveAndDeliver(ctx, sc, splice.Make(sc.capture, len("<message")), user, bare, sender, id, stamp)
}

// captureRaw checks raw and copies it into sc.capture as accept captures a
// message, but for the user's stanza-id and the end tag, which the caller
// appends: the start tag without to, then the content without the
// stanza-ids that claim to be by the user. It reports false when raw is outside
// rawxml's subset, or has a stanza-id whose namespace or by holds a
// reference.
func (sc *fanOutScratch) captureRaw(raw []byte, user jid.JID, bare string) bool {
	sc.cuts = sc.cuts[:0]
	ok := sc.scan.Element(raw, func(t *rawxml.Tag, start, end int) bool {
		if string(t.Name) != "stanza-id" {
			return true
		}
		space, _ := t.Attr("xmlns")
		by, hasBy := t.Attr("by")
		if space.HasRef() || by.HasRef() {
			return false
		}
		if string(space.Value) == ns.StanzaID && hasBy && sameBareJID(string(by.Value), user, bare) {
			sc.cuts = append(sc.cuts, start, end)
		}
		return true
	})
	if !ok {
		return false
	}
	top := &sc.scan.Top
	b := append(sc.capture[:0], "<message"...)
	for _, a := range top.Attrs {
		if string(a.Name) != "to" {
			b = append(b, raw[a.Start:a.End]...)
		}
	}
	b = append(b, '>')
	at := top.Len
	for i := 0; i < len(sc.cuts); i += 2 {
		b = append(b, raw[at:sc.cuts[i]]...)
		at = sc.cuts[i+1]
	}
	if at < sc.scan.EndTag {
		b = append(b, raw[at:sc.scan.EndTag]...)
	}
	sc.capture = b
	return true
}

// appendStanzaID appends the user's stanza-id, <stanza-id
// xmlns='urn:xmpp:sid:0' by='bare' id='id'/> (XEP-0359 §4).
func appendStanzaID(b []byte, bare, id string) []byte {
	b = append(b, `<stanza-id xmlns="`+ns.StanzaID+`" by="`...)
	b = append(b, splice.Escape(bare)...)
	b = append(b, `" id="`...)
	b = append(b, splice.Escape(id)...)
	return append(b, `"/>`...)
}
