package packet

import (
	"sync"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/rawxml"
)

// maxCachedJIDs bounds a Parser's cache; past it the cache starts afresh,
// so that churn costs time, never memory.
const maxCachedJIDs = 16384

// Parser is Parse with a memory: it keeps the JIDs it has parsed (jid.Parse,
// with its PRECIS and IDNA rules, costs more than the rest of routing a
// stanza, and the same few JIDs keep coming), and reads plain start tags
// (package rawxml's subset, no xmlns) without an XML decoder. It returns
// what Parse returns. The zero value is ready; a Parser is safe for
// concurrent use.
type Parser struct {
	mu   sync.RWMutex
	jids map[string]jid.JID
	tags sync.Pool // *rawxml.Tag, whose Attrs would otherwise escape
}

// Parse is the package's Parse, faster.
func (ps *Parser) Parse(raw []byte) (Packet, error) {
	tag, _ := ps.tags.Get().(*rawxml.Tag)
	if tag == nil {
		tag = new(rawxml.Tag)
	}
	defer func() {
		clear(tag.Attrs[:cap(tag.Attrs)]) // no references to raw
		*tag = rawxml.Tag{Attrs: tag.Attrs[:0]}
		ps.tags.Put(tag)
	}()
	if !rawxml.ScanTag(raw, tag) {
		return Parse(raw)
	}
	p := Packet{Kind: Kind(tag.Name), Raw: raw}
	switch p.Kind {
	case Message, Presence, IQ:
	default:
		return Parse(raw)
	}
	var to, from []byte
	for _, a := range tag.Attrs {
		switch string(a.Name) {
		case "xmlns":
			// The decoder checks the namespace.
			return Parse(raw)
		case "type":
			p.Type = string(a.Value)
		case "id":
			p.ID = string(a.Value)
		case "to":
			to = a.Value
		case "from":
			from = a.Value
		default:
			continue
		}
		if a.HasRef() {
			return Parse(raw)
		}
	}
	var errTo, errFrom error
	p.To, errTo = ps.jid(to)
	p.From, errFrom = ps.jid(from)
	if errTo != nil {
		return p, errTo
	}
	return p, errFrom
}

// jid parses b, as parseJID does, through the cache.
func (ps *Parser) jid(b []byte) (jid.JID, error) {
	if len(b) == 0 {
		return jid.JID{}, nil
	}
	ps.mu.RLock()
	j, ok := ps.jids[string(b)]
	ps.mu.RUnlock()
	if ok {
		return j, nil
	}
	s := string(b)
	j, err := parseJID(s)
	if err != nil {
		return jid.JID{}, err
	}
	ps.mu.Lock()
	if ps.jids == nil || len(ps.jids) >= maxCachedJIDs {
		ps.jids = make(map[string]jid.JID)
	}
	ps.jids[s] = j
	ps.mu.Unlock()
	return j, nil
}
