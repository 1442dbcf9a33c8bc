package archive

import (
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// IDLen is the length of the ids IDGenerator makes.
const IDLen = 26

// idPartLen is the number of base-32 digits that hold 64 bits: an id is two
// of them.
const idPartLen = IDLen / 2

// idDigits are the base-32 digits in ASCII order, so that fixed-width
// numbers sort as strings in numeric order.
const idDigits = "0123456789abcdefghijklmnopqrstuv"

// IDGenerator makes archive ids that are unique, unpredictable, and ordered
// by time when compared as strings, as Store orders records by id.
//
// An id is 26 characters from [0-9a-v]: 13 encode a timestamp in
// nanoseconds since the Unix epoch, strictly increasing across the ids of
// one generator even when the clock stalls or steps back, and 13 encode 64
// random bits (XEP-0359 §4 asks for unpredictable ids; XEP-0313 §3 for
// unpredictable, unique ones; the random half also keeps ids of separate
// generators, in a cluster say, apart). Nothing else is encoded: an id tells
// no more than the time the message was archived, which the archive's
// XEP-0203 delay stamp tells anyway.
//
// The zero value is ready to use and reads time.Now. An IDGenerator is safe
// for concurrent use and must not be copied after first use.
type IDGenerator struct {
	// Now is the clock; nil means time.Now. Set it before first use.
	Now func() time.Time

	last atomic.Int64 // the last timestamp handed out, in nanoseconds
}

// Next returns a new id and the time it encodes, which is the time to
// archive the message under: ordering records by id or by that time gives
// the same order.
func (g *IDGenerator) Next() (string, time.Time) {
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	stamp := max(now().UnixNano(), 0)
	for {
		last := g.last.Load()
		next := max(stamp, last+1)
		if g.last.CompareAndSwap(last, next) {
			stamp = next
			break
		}
	}
	var b [IDLen]byte
	putBase32(b[:idPartLen], uint64(stamp))
	putBase32(b[idPartLen:], rand.Uint64())
	return string(b[:]), time.Unix(0, stamp).UTC()
}

// putBase32 writes v into dst as len(dst) base-32 digits, most significant
// first.
func putBase32(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = idDigits[v&31]
		v >>= 5
	}
}
