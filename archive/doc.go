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
// discovery; §7 urn:xmpp:mam:2#extended: before-id, after-id, ids, flipped
// pages, the §6 metadata query; §4.1.4 include-groupchat) and advertises
// the features of MAMFeatures; a host calls MAMHandler.ServeIQ (host.IQHandler), or
// registers Handle on a mellium mux.ServeMux. Queries are parsed here,
// strictly, rather than with mellium's history.Query.
package archive
