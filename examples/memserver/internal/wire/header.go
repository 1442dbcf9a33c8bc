package wire

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"

	"mellium.im/xmpp/stream"

	"github.com/mixpam/mixpam/host"
)

const xmlNS = "http://www.w3.org/XML/1998/namespace"

// Header is the opening stream tag (RFC 6120 §4.7).
type Header struct {
	// NS is the stream's default namespace: jabber:client for clients,
	// jabber:component:accept for XEP-0114 components.
	NS string
	// To and From are the raw to and from attributes.
	To, From string
	// Version is the version attribute ("1.0" for RFC 6120 peers).
	Version string
	// Lang is the xml:lang attribute.
	Lang string
}

func parseHeader(start xml.StartElement) (Header, error) {
	if start.Name.Local != "stream" || start.Name.Space != NSStream {
		return Header{}, &Error{Cond: stream.InvalidNamespace, Text: "expected a stream element in " + NSStream}
	}
	var h Header
	for _, a := range start.Attr {
		switch {
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			h.NS = a.Value
		case a.Name.Space == "" && a.Name.Local == "to":
			h.To = a.Value
		case a.Name.Space == "" && a.Name.Local == "from":
			h.From = a.Value
		case a.Name.Space == "" && a.Name.Local == "version":
			h.Version = a.Value
		case a.Name.Space == xmlNS && a.Name.Local == "lang":
			h.Lang = a.Value
		}
	}
	return h, nil
}

// AppendHeader appends our opening stream tag (with an XML declaration) for a
// stream in namespace ns from the entity from, with the given stream id.
// An empty version leaves the attribute out (XEP-0114 streams).
func AppendHeader(dst []byte, ns, from, id, version string) []byte {
	dst = append(dst, `<?xml version="1.0"?><stream:stream xmlns="`...)
	dst = host.AppendEscaped(dst, ns, true)
	dst = append(dst, `" xmlns:stream="`+NSStream+`" id="`...)
	dst = host.AppendEscaped(dst, id, true)
	dst = append(dst, `" from="`...)
	dst = host.AppendEscaped(dst, from, true)
	if version != "" {
		dst = append(dst, `" version="`...)
		dst = host.AppendEscaped(dst, version, true)
	}
	return append(dst, `" xml:lang="en">`...)
}

// Trailer closes a stream (RFC 6120 §4.4).
const Trailer = "</stream:stream>"

// NewID returns a random stream id (RFC 6120 §4.7.3: unpredictable).
func NewID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	return hex.EncodeToString(b[:])
}
