package disco

import (
	"fmt"

	"github.com/mixpam/mixpam/host"
)

// Namespaces this package reads and writes that no other mixpam package uses.
const (
	nsInfo = "http://jabber.org/protocol/disco#info" // XEP-0030
	nsCaps = "http://jabber.org/protocol/caps"       // XEP-0115
	nsData = "jabber:x:data"                         // XEP-0004, XEP-0128
	nsXML  = "http://www.w3.org/XML/1998/namespace"
)

// Errors returned by this package.
const (
	// ErrNoQuery is returned by ParseInfo when the first element is not a
	// disco#info <query/>.
	ErrNoQuery = constError("disco: payload is not a disco#info query")

	// ErrInvalidCaps is returned by ParseCaps for a presence with more than
	// one <c/> element or a <c/> element without node or ver (XEP-0115 §4).
	ErrInvalidCaps = constError("disco: invalid entity capabilities element")

	// ErrUnsupportedHash is returned by VerificationString for a hash
	// function outside the set this package implements.
	ErrUnsupportedHash = constError("disco: unsupported caps hash function")

	// ErrIllFormed is returned by VerificationString for a disco#info result
	// that XEP-0115 §5.4 or XEP-0030 §3.1 calls ill-formed (two identities
	// with the same category, type and xml:lang, a repeated feature or
	// FORM_TYPE, a FORM_TYPE with differing values), or one whose
	// verification string input would be ambiguous and so let two different
	// results hash alike (XEP-0115 §9.3, caps poisoning): '<' in a string
	// that enters it, '/' in an identity's category, type or xml:lang, an
	// empty feature, FORM_TYPE or field name, a field name repeated in a
	// form, a FORM_TYPE or field name that is also a feature.
	ErrIllFormed = constError("disco: ill-formed disco#info result")
)

type constError string

func (e constError) Error() string { return string(e) }

// errNoSender is returned by Account.ServeIQ for a request without from.
// Nothing was read or sent: the host must stamp the sender's address on every
// stanza from a client session (RFC 6120 §8.1.2.1) and check it on every
// stanza from another server (§8.1.2.2) before handing it over.
var errNoSender = fmt.Errorf("disco: IQ request without from: %w", host.ErrNoSender)
