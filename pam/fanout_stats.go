package pam

import "sync/atomic"

// FanOutStats counts what a FanOut did since it was created.
type FanOutStats struct {
	// Accepted counts messages that passed the checks: archived (unless
	// counted in ArchiveFailures) and delivered.
	Accepted uint64
	// Delivered counts copies routed to resources.
	Delivered uint64
	// DroppedNotJoined counts messages from senders that are not channels
	// in the user's roster (or without a valid from).
	DroppedNotJoined uint64
	// DroppedBlocked counts messages the BlockFilter blocked.
	DroppedBlocked uint64
	// CheckFailures counts messages dropped because the BlockFilter or the
	// roster failed.
	CheckFailures uint64
	// Malformed counts messages dropped because the stanza could not be
	// read to its end.
	Malformed uint64
	// ArchiveFailures counts accepted messages the archive refused.
	ArchiveFailures uint64
	// DeliveryFailures counts copies the router refused, and failures to
	// list a user's sessions.
	DeliveryFailures uint64
}

// fanOutCounters are the live counters behind FanOutStats.
type fanOutCounters struct {
	accepted, delivered               atomic.Uint64
	droppedNotJoined, droppedBlocked  atomic.Uint64
	checkFailures, malformed          atomic.Uint64
	archiveFailures, deliveryFailures atomic.Uint64
}

// Stats returns the counters so far. Each counter is read atomically; the
// set is not a snapshot of one instant.
func (f *FanOut) Stats() FanOutStats {
	c := &f.stats
	return FanOutStats{
		Accepted:         c.accepted.Load(),
		Delivered:        c.delivered.Load(),
		DroppedNotJoined: c.droppedNotJoined.Load(),
		DroppedBlocked:   c.droppedBlocked.Load(),
		CheckFailures:    c.checkFailures.Load(),
		Malformed:        c.malformed.Load(),
		ArchiveFailures:  c.archiveFailures.Load(),
		DeliveryFailures: c.deliveryFailures.Load(),
	}
}
