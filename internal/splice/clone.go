package splice

// Clone returns a copy of s that owns exactly as much memory as the stanza
// needs, so that s's buffer can be reused. Caches that keep many stanzas
// (the channel presence cache of XEP-0405 §2.9.2) store clones rather than
// the growing buffers Capture filled.
func (s Stanza) Clone() Stanza {
	raw := make([]byte, len(s.raw))
	copy(raw, s.raw)
	return Stanza{raw: raw, at: s.at}
}
