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
package roster
