// Package archive stores MIX messages in the receiving user's own message
// archive (XEP-0405 §1 and §2.11, feature urn:xmpp:mix:pam:2#archive), marks
// them with XEP-0359 stanza ids, and answers XEP-0313 (urn:xmpp:mam:2) queries
// for hosts that have no MAM service of their own.
//
// Store is the seam to the host's archive storage; MemStore is an in-memory
// implementation and archive/archivetest a conformance kit for others.
package archive
