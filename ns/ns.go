// Package ns names the XML namespaces that mixpam reads and writes, for
// hosts as for mixpam's own packages: those of MIX (XEP-0369, XEP-0403,
// XEP-0405) and the few others more than one package uses. Where mellium
// names a namespace (stanza.NSClient, stanza.NSSid, stanza.NSError,
// roster.NS) the constant here is mellium's, so the two cannot disagree.
// The namespaces of one package's own protocol are exported there
// (archive.NSMAM, blocking.NS).
package ns

import (
	"mellium.im/xmpp/roster"
	"mellium.im/xmpp/stanza"
)

// Namespaces used across mixpam.
const (
	// Client is the default namespace of client-to-server streams (RFC 6120).
	Client = stanza.NSClient
	// MIXCore is XEP-0369 MIX core, version 1.
	MIXCore = "urn:xmpp:mix:core:1"
	// MIXPresence is XEP-0403 MIX presence.
	MIXPresence = "urn:xmpp:mix:presence:0"
	// PAM is XEP-0405 MIX participant server requirements, version 2.
	PAM = "urn:xmpp:mix:pam:2"
	// PAMArchive is the XEP-0405 §2.11 feature: the server archives MIX messages.
	PAMArchive = "urn:xmpp:mix:pam:2#archive"
	// MIXRoster is the XEP-0405 §2.10 roster annotation namespace.
	MIXRoster = "urn:xmpp:mix:roster:0"
	// StanzaID is XEP-0359 unique and stable stanza ids.
	StanzaID = stanza.NSSid
	// Roster is the RFC 6121 roster namespace.
	Roster = roster.NS
	// Stanzas is the RFC 6120 stanza error condition namespace.
	Stanzas = stanza.NSError
)
