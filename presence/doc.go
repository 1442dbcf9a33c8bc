// Package presence carries presence between a user's MIX-capable clients and
// the channels the user joined (XEP-0405 §2.9.1–2.9.4, XEP-0403): it sends
// client presence to channels, passes channel presence on to clients, caches
// it, refreshes it with directed presence, and answers channel probes.
package presence
