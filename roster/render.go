package roster

import (
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/internal/rawstanza"
	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
)

// The functions here render roster stanzas as host.RawRouter expects them:
// UTF-8, no XML declaration, no xmlns on the top-level <iq/>.

// appendQueryStart appends a jabber:iq:roster <query/> start tag carrying
// the version as the session sees it.
func appendQueryStart(dst []byte, ver uint64, annotate bool) []byte {
	dst = append(dst, `<query xmlns="`+ns.Roster+`" ver="`...)
	dst = appendSessionVer(dst, ver, annotate)
	return append(dst, `">`...)
}

// appendQueryEnd closes what rawstanza.AppendIQStart and appendQueryStart
// opened.
func appendQueryEnd(dst []byte) []byte {
	return append(dst, "</query></iq>"...)
}

// appendRoster appends a roster result (RFC 6121 §2.1.4) for reply: every
// item, channel items annotated when annotate is set.
func appendRoster(dst []byte, reply stanza.IQ, items []Item, ver uint64, annotate bool) []byte {
	dst = rawstanza.AppendIQStart(dst, stanza.ResultIQ, reply.ID, reply.From, reply.To)
	dst = append(dst, '>')
	dst = appendQueryStart(dst, ver, annotate)
	for _, it := range items {
		dst = AppendItem(dst, it, annotate)
	}
	return appendQueryEnd(dst)
}

// appendEmptyResult appends an IQ result without payload: the answer to a
// roster set, and to a roster get whose cached version is current (RFC 6121
// §2.6.3).
func appendEmptyResult(dst []byte, reply stanza.IQ) []byte {
	dst = rawstanza.AppendIQStart(dst, stanza.ResultIQ, reply.ID, reply.From, reply.To)
	return append(dst, "/>"...)
}

// appendError appends an IQ error carrying se for reply.
func appendError(dst []byte, reply stanza.IQ, se stanza.Error) []byte {
	reply.Type = stanza.ErrorIQ
	// The reader is built here from values that always serialise: Append
	// cannot fail on it.
	dst, _ = xmlenc.Append(dst, reply.Wrap(se.TokenReader()), ns.Client)
	return dst
}
