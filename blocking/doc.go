// Package blocking makes XEP-0191 blocking understand MIX (XEP-0405 §2.12).
//
// Channel traffic arrives from encoded JIDs such as
// 123435#coven@mix.example, which no blocklist item names. The filter maps
// every sender to its channel, so that blocking a channel blocks all of its
// participants' JIDs, and blocking one participant blocks only that
// participant.
//
// Filter is the one decision: is a stanza between a user and a peer blocked?
// It wraps a Checker with plain XEP-0191 §6 matching, either the host's own
// (decorator) or StoreChecker over a Store. Known tells roster-based
// policies that channel traffic comes from a joined channel. Handler
// answers the XEP-0191 commands (§3.2–3.5) for hosts without their own, with
// Handle as its adapter for mellium's mux, and BlockedError builds the
// §3.3 error for outbound stanzas to blocked JIDs. The presence that
// §3.3 and §3.4 ask for on block and unblock is the host's: Handler reports
// each Change to a PresenceUpdater (presence.Handler is one, for channel
// presence), and Change.Affects says which JIDs a change concerns by the
// Filter's MIX-aware rules.
//
// Store is the seam to the host's blocklist storage; MemStore is an
// in-memory implementation and blocking/blockingtest a conformance kit for
// others.
package blocking
