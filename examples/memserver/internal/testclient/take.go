package testclient

import "github.com/mixpam/mixpam/examples/memserver/internal/packet"

// TakeAll takes every stanza received so far that match accepts out of the
// inbox and returns them in the order they arrived. After a Ping barrier
// it is what the client has seen; a test compares it with what the client
// should have seen.
func (c *Client) TakeAll(match func(packet.Packet) bool) []packet.Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	var taken []packet.Packet
	kept := c.inbox[:0]
	for _, p := range c.inbox {
		if match(p) {
			taken = append(taken, p)
		} else {
			kept = append(kept, p)
		}
	}
	clear(c.inbox[len(kept):])
	c.inbox = kept
	return taken
}
