// Package archive stores MIX messages in the receiving user's own message
// archive (XEP-0405 §1 and §2.11, feature urn:xmpp:mix:pam:2#archive), marks
// them with XEP-0359 stanza ids, and answers XEP-0313 (urn:xmpp:mam:2) queries
// for hosts that have no MAM service of their own.
//
// Store is the seam to the host's archive storage; MemStore is an in-memory
// implementation and archive/archivetest a conformance kit for others.
//
// IDGenerator makes the archive ids, which are also the messages' stanza ids
// (XEP-0313 §3.2.1): unique, unpredictable and ordered by time as strings,
// the order Store keeps. The fan-out in package pam archives with them.
//
// MAMHandler answers a user's queries of their own archive (XEP-0313 §4:
// with, start and end filters, XEP-0059 paging forwards and backwards, form
// discovery) and advertises urn:xmpp:mam:2; a host calls
// MAMHandler.HandleIQ, or registers Handle on a mellium mux.ServeMux. Queries
// are parsed here, strictly, rather than with mellium's history.Query.
package archive
