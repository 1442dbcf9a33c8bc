// Package ns names the XML namespaces that more than one mixpam package uses.
package ns

// Namespaces used across mixpam.
const (
	// Client is the default namespace of client-to-server streams (RFC 6120).
	Client = "jabber:client"
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
	StanzaID = "urn:xmpp:sid:0"
	// Roster is the RFC 6121 roster namespace.
	Roster = "jabber:iq:roster"
	// Stanzas is the RFC 6120 stanza error condition namespace.
	Stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"
)
