// Package roster keeps MIX channels in users' rosters (XEP-0405 §2.9) and
// annotates channel items for the sessions that ask (XEP-0405 §2.10,
// namespace urn:xmpp:mix:roster:0).
//
// A channel the user joined is a roster item with subscription "from"
// (presence shared toward the channel, RFC 6121 one-way) or "none" when the
// user does not share presence (XEP-0404). Clients cannot edit channel items
// directly: they leave the channel instead.
//
// Store is the seam to the host's roster storage; MemStore is an in-memory
// implementation and roster/rostertest a conformance kit for others.
//
// # Annotation
//
// A roster get carrying <annotate xmlns='urn:xmpp:mix:roster:0'/> sets the
// requesting session's Annotate flag (host.Resource) and a get without it
// clears the flag; other sessions of the user are not affected, and a get
// that is refused (say, because the store failed) changes nothing. Results and
// pushes for an annotated session give channel items a
// <channel xmlns='urn:xmpp:mix:roster:0' participant-id='…'/> child; no
// other session ever sees one.
//
// Roster versions (RFC 6121 §2.6, XEP-0237) are the Store's version
// numbers in decimal, and annotated sessions see them with the suffix
// "+mix" ("17+mix"). A client's cached version thus only counts as current
// when the client cached the roster in the annotation state it now asks for:
// a client that cached a plain roster and then asks for annotations gets the
// whole, annotated roster rather than an empty result that would leave its
// cache without annotations.
//
// # Two ways to use it
//
// Hosts with a roster module of their own keep it and put an Annotator
// around it: Annotator.Request before the module sees a client's roster
// request, Annotator.Transform on every roster result and push the module
// sends.
//
// Hosts without one use Handler, a complete RFC 6121 roster (get, set,
// remove, pushes to every resource, versioning) over the Store, with channel
// items read-only to clients; Handle adapts it to mellium's mux.
//
// Either way the participant server's join and leave (XEP-0405 §2.7, §2.8)
// and presence preference (XEP-0404) change channel items through a
// Handler's AddChannel, RemoveChannel and SetChannelPresence, which store
// the change (changing the roster version) and push it; a host with its own
// roster module creates a Handler for these and routes no IQs to it.
// Pusher and AppendItem are the pieces underneath, for hosts that render
// roster stanzas themselves.
//
// # Limits
//
// A roster set may name an item of at most 1023 bytes and carry at most 64
// groups of at most 1023 bytes each; beyond that it is refused with
// not-acceptable (RFC 6121 §2.3.3).
package roster
