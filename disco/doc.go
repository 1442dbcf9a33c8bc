// Package disco is service discovery for the participant server: it
// advertises urn:xmpp:mix:pam:2 (and urn:xmpp:mix:pam:2#archive when the
// server archives MIX messages) on the account's bare JID (XEP-0405 §2.4),
// and decides which clients are MIX capable from their disco#info features
// or XEP-0115 entity capabilities (XEP-0405 §2.1).
package disco
