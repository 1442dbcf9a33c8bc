package testclient

import (
	"time"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
)

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

// Wait waits up to d for the first received stanza, not yet taken, that
// match accepts, takes it out of the inbox and returns it; ok is false when
// none came. Unlike Expect it leaves failing to the caller.
func (c *Client) Wait(d time.Duration, match func(packet.Packet) bool) (p packet.Packet, ok bool) {
	return c.wait(d, match)
}

// Inbox returns the stanzas received and not yet taken, one a line, for
// failure messages.
func (c *Client) Inbox() string { return c.dump() }
