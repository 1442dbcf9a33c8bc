package mixload

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReceiverAccounting: each delivery counted once; a second copy is a
// duplicate, an older message from the same member after a newer one is
// out of order, a message for a channel the participant is not in is
// foreign, and an error answer to a post is a refusal.
func TestReceiverAccounting(t *testing.T) {
	p, err := newPlan(2, "1", 2, 1, 8) // participant 0 in channel 0, 1 in 1
	require.NoError(t, err)
	r := &runner{plan: p, runID: "abcd", chanJIDs: []string{"c0@mix", "c1@mix"}}
	r.marker = []byte("mlabcd ")
	var totals counters
	rcv := newReceiver(r.marker, &totals, p, 0)
	var refused []int
	rcv.primary, rcv.ownEcho, rcv.rejected = true, func() {}, func(c, seq int) { refused = append(refused, c, seq) }

	msg := func(c, seq int) []byte { return []byte(r.message(c, "m", seq, 0, time.Millisecond)) }
	rcv.handle(msg(0, 0), 2*time.Millisecond)
	rcv.handle(msg(0, 2), 2*time.Millisecond)
	rcv.handle(msg(0, 2), 3*time.Millisecond) // duplicate
	rcv.handle(msg(0, 1), 3*time.Millisecond) // out of order
	rcv.handle(msg(1, 0), 3*time.Millisecond) // not this participant's channel
	rcv.handle([]byte(`<message type='error' id='m0-3' from='c0@mix'><error type='wait'/></message>`), 0)

	require.EqualValues(t, 3, totals.unique.Load())
	require.EqualValues(t, 1, totals.duplicated.Load())
	require.EqualValues(t, 1, totals.outOfOrder.Load())
	require.EqualValues(t, 1, totals.foreign.Load())
	require.Equal(t, []int{0, 3}, refused)
	require.Equal(t, 1, rcv.missing(0, []bool{true, true, true, true}))
	require.Equal(t, []int32{1000, 1000, 2000}, rcv.latencies)
}

func TestPlanSpreadsMembers(t *testing.T) {
	p, err := newPlan(1000, "1", 1000, 20, 100)
	require.NoError(t, err)
	for c, m := range p.members {
		require.Len(t, m, 20, "channel %d", c)
	}
	_, err = newPlan(3, "1", 10, 1, 1)
	require.Error(t, err, "channels without members")
	_, err = newPlan(3, "3", 1, 1, 1)
	require.Error(t, err)
}
