package mixload

import (
	"bytes"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// counters are the run-wide delivery counts, updated by every receiver.
type counters struct {
	unique, duplicated, outOfOrder, foreign, rejected atomic.Int64
	lastAt                                            atomic.Int64 // clock of the latest counted delivery
	warm                                              atomic.Int64 // (resource, channel) pairs that saw a warm-up
}

// receiver accounts for what one resource receives. Its read goroutine is
// the only writer; the mutex makes the final read safe.
type receiver struct {
	marker []byte // "ml<run> "
	totals *counters
	// primary is set on the resource that posts: it is told of its own
	// messages coming back (ownEcho) and of posts the channel refused
	// (rejected).
	primary  bool
	ownEcho  func()
	rejected func(ch, seq int)

	mu        sync.Mutex
	chans     map[int]*chanState
	latencies []int32 // microseconds
}

// chanState is what a resource saw from one channel.
type chanState struct {
	seen    []uint64 // bit per channel sequence number
	last    []int    // per member: the highest sequence number seen from it
	self    int      // this participant's index among the members
	warmGen int      // newest warm-up generation seen
}

func newReceiver(marker []byte, totals *counters, p *plan, participant int) *receiver {
	r := &receiver{marker: marker, totals: totals, chans: make(map[int]*chanState)}
	for _, c := range p.channels[participant] {
		last := make([]int, len(p.members[c]))
		for i := range last {
			last[i] = -1
		}
		r.chans[c] = &chanState{seen: make([]uint64, (p.perChan[c]+63)/64), last: last, self: p.memberIndex(c, participant)}
	}
	return r
}

// handle takes one message stanza received at clock value at.
func (r *receiver) handle(el []byte, at time.Duration) {
	if typ, _ := attr(el, "type"); string(typ) == "error" {
		r.refused(el)
		return
	}
	i := bytes.Index(el, r.marker)
	if i < 0 {
		return
	}
	f := fields(el[i+len(r.marker):])
	if len(f) < 5 {
		return
	}
	kind := f[0]
	c, seq, member, sent := atoi(f[1]), atoi(f[2]), atoi(f[3]), atoi(f[4])
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.chans[c]
	if !ok {
		r.totals.foreign.Add(1)
		return
	}
	if string(kind) == "w" {
		if seq > st.warmGen {
			if st.warmGen == 0 {
				r.totals.warm.Add(1)
			}
			st.warmGen = seq
		}
		return
	}
	if seq < 0 || seq/64 >= len(st.seen) || member < 0 || member >= len(st.last) {
		r.totals.foreign.Add(1)
		return
	}
	word, bit := seq/64, uint64(1)<<(seq%64)
	if st.seen[word]&bit != 0 {
		r.totals.duplicated.Add(1)
		return
	}
	st.seen[word] |= bit
	if seq < st.last[member] {
		r.totals.outOfOrder.Add(1)
	} else {
		st.last[member] = seq
	}
	if r.primary && member == st.self {
		r.ownEcho()
	}
	lat := (at - time.Duration(sent)) / time.Microsecond
	r.latencies = append(r.latencies, int32(min(lat, 1<<31-1)))
	r.totals.unique.Add(1)
	for {
		prev := r.totals.lastAt.Load()
		if int64(at) <= prev || r.totals.lastAt.CompareAndSwap(prev, int64(at)) {
			break
		}
	}
}

// refused takes an error answer to a post: its id (see runner.message)
// names the channel and sequence number.
func (r *receiver) refused(el []byte) {
	id, _ := attr(el, "id")
	if !r.primary || len(id) < 4 || id[0] != 'm' {
		return
	}
	ch, seq, ok := bytes.Cut(id[1:], []byte("-"))
	c, n := atoi(ch), atoi(seq)
	if !ok || c < 0 || n < 0 {
		return
	}
	r.rejected(c, n)
}

// missing counts the messages of channel c, among those sent, that this
// resource did not get.
func (r *receiver) missing(c int, sent []bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.chans[c]
	if !ok {
		return 0
	}
	n := 0
	for seq, s := range sent {
		if s && st.seen[seq/64]&(uint64(1)<<(seq%64)) == 0 {
			n++
		}
	}
	return n
}

// warmedUp reports whether the resource saw warm-up generation gen (or a
// later one) from channel c.
func (r *receiver) warmedUp(c, gen int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.chans[c]
	return ok && st.warmGen >= gen
}

// fields splits the marker's space-separated fields, up to the next '<'.
func fields(b []byte) [][]byte {
	if end := bytes.IndexByte(b, '<'); end >= 0 {
		b = b[:end]
	}
	var out [][]byte
	for len(b) > 0 && len(out) < 5 {
		var f []byte
		f, b, _ = bytes.Cut(b, []byte(" "))
		out = append(out, f)
	}
	return out
}

func atoi(b []byte) int {
	n, err := strconv.Atoi(string(b))
	if err != nil {
		return -1
	}
	return n
}
