package pam

import (
	"sync"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/splice"
)

// maxFanOutCached bounds each of the fan-out's caches; past it a cache
// starts afresh, so that churn costs time, never memory.
const maxFanOutCached = 4096

// fanOutCache keeps what the fan-out would otherwise work out again for
// every message from the same few strings:
//
//   - parsed JIDs by the attribute they came from: jid.Parse (PRECIS and
//     IDNA) costs more than the rest of the fan-out, and the same to (the
//     local users) and from (the channels' participants) keep coming;
//   - resourceparts escaped for the to attribute: jid.JID hands out its
//     parts only as new strings, which costs an allocation per recipient
//     once a part is longer than the compiler's 32-byte stack buffer, while
//     a map lookup keyed by that conversion does not allocate.
//
// Only valid JIDs are cached. It is safe for concurrent use; the zero value
// is empty.
type fanOutCache struct {
	mu    sync.RWMutex
	jids  map[string]fanOutJID
	names map[string]splice.Escaped
}

// fanOutJID is a parsed JID and its canonical string form.
type fanOutJID struct {
	jid jid.JID
	str string
}

// parse returns s parsed, and its canonical string form.
func (c *fanOutCache) parse(s string) (jid.JID, string, error) {
	c.mu.RLock()
	p, ok := c.jids[s]
	c.mu.RUnlock()
	if ok {
		return p.jid, p.str, nil
	}
	j, err := jid.Parse(s)
	if err != nil {
		return jid.JID{}, "", err
	}
	p = fanOutJID{jid: j, str: j.String()}
	c.mu.Lock()
	if c.jids == nil || len(c.jids) >= maxFanOutCached {
		c.jids = make(map[string]fanOutJID)
	}
	c.jids[s] = p
	c.mu.Unlock()
	return p.jid, p.str, nil
}

// parseJID returns s parsed.
func (c *fanOutCache) parseJID(s string) (jid.JID, error) {
	j, _, err := c.parse(s)
	return j, err
}

// parseBytes is parse for a JID in a byte slice: a cached one costs no
// allocation.
func (c *fanOutCache) parseBytes(b []byte) (jid.JID, string, error) {
	c.mu.RLock()
	p, ok := c.jids[string(b)]
	c.mu.RUnlock()
	if ok {
		return p.jid, p.str, nil
	}
	return c.parse(string(b))
}

// resources appends to dst the resourceparts of the MIX-capable resources
// in rs, escaped for an attribute value, in order.
func (c *fanOutCache) resources(dst []splice.Escaped, rs []host.Resource) []splice.Escaped {
	n, missing := len(dst), false
	c.mu.RLock()
	for i := range rs {
		if !rs[i].MIXCapable {
			continue
		}
		esc, ok := c.names[rs[i].JID.Resourcepart()]
		missing = missing || !ok
		dst = append(dst, esc)
	}
	c.mu.RUnlock()
	if !missing {
		return dst
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range rs {
		if !r.MIXCapable {
			continue
		}
		if dst[n] == "" {
			name := r.JID.Resourcepart()
			dst[n] = splice.Escape(name)
			if c.names == nil || len(c.names) >= maxFanOutCached {
				c.names = make(map[string]splice.Escaped)
			}
			c.names[name] = dst[n]
		}
		n++
	}
	return dst
}
