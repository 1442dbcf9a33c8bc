package disco

import "container/list"

// capsCache maps verified capabilities (hash function and verification
// string) to MIX capability, keeping the most recently used entries up to a
// fixed number. It holds a bool per entry, not the disco#info result, so that
// clients inventing verifiable results cannot make it grow beyond
// max × (key + overhead). It is not safe for concurrent use.
type capsCache struct {
	max   int
	order *list.List // of *cacheEntry, most recently used first
	items map[string]*list.Element
}

type cacheEntry struct {
	key     string
	capable bool
}

func newCapsCache(max int) *capsCache {
	return &capsCache{max: max, order: list.New(), items: make(map[string]*list.Element)}
}

// get returns the entry for key and marks it most recently used.
func (c *capsCache) get(key string) (capable, ok bool) {
	e, ok := c.items[key]
	if !ok {
		return false, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cacheEntry).capable, true
}

// add stores an entry, evicting the least recently used one when full.
func (c *capsCache) add(key string, capable bool) {
	if e, ok := c.items[key]; ok {
		e.Value.(*cacheEntry).capable = capable
		c.order.MoveToFront(e)
		return
	}
	c.items[key] = c.order.PushFront(&cacheEntry{key: key, capable: capable})
	if c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*cacheEntry).key)
	}
}
