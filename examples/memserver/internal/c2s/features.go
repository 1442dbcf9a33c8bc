package c2s

import (
	"mellium.im/sasl"
)

// Namespaces of the negotiation (RFC 6120 §5–§7) and of the legacy session
// establishment (RFC 3921 §3, draft-cridland-xmpp-session).
const (
	nsTLS     = "urn:ietf:params:xml:ns:xmpp-tls"
	nsSASL    = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind    = "urn:ietf:params:xml:ns:xmpp-bind"
	nsSession = "urn:ietf:params:xml:ns:xmpp-session"
)

// mechanisms returns the SASL mechanisms offered, strongest first. SASL is
// offered only once the stream is secure (TLS up, or TLS switched off), so
// PLAIN never travels over plain TCP unless the operator chose -tls off. No
// -PLUS mechanism is offered: Go's TLS 1.3 has no tls-unique channel
// binding, which some clients would pick.
func mechanisms() []sasl.Mechanism {
	return []sasl.Mechanism{sasl.ScramSha256, sasl.ScramSha1, sasl.Plain}
}

// features writes the stream features for the current state.
func (n *negotiation) features() error {
	b := append(n.out[:0], "<stream:features>"...)
	switch {
	case !n.secure:
		b = append(b, `<starttls xmlns="`+nsTLS+`"><required/></starttls>`...)
	case n.user == "":
		b = append(b, `<mechanisms xmlns="`+nsSASL+`">`...)
		for _, m := range mechanisms() {
			b = append(b, "<mechanism>"+m.Name+"</mechanism>"...)
		}
		b = append(b, "</mechanisms>"...)
	default:
		b = append(b, `<bind xmlns="`+nsBind+`"/><session xmlns="`+nsSession+`"><optional/></session>`...)
	}
	b = append(b, "</stream:features>"...)
	n.out = b
	return n.write(b)
}
