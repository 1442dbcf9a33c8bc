// Package blocking makes XEP-0191 blocking understand MIX (XEP-0405 §2.12).
//
// Channel traffic arrives from encoded JIDs such as
// 123435#coven@mix.example, which no blocklist item names. The filter maps
// every sender to its channel, so that blocking a channel blocks all of its
// participants' JIDs, and blocking one participant blocks only that
// participant.
//
// Store is the seam to the host's blocklist storage; MemStore is an
// in-memory implementation and blocking/blockingtest a conformance kit for
// others.
package blocking
