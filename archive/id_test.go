package archive

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestIDGeneratorOrdersByTime(t *testing.T) {
	base := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		clock []time.Duration // successive readings of the clock, from base
	}{
		{"advancing clock", []time.Duration{0, time.Millisecond, time.Second, time.Hour}},
		{"stalled clock", []time.Duration{0, 0, 0, 0}},
		{"clock stepping back", []time.Duration{time.Hour, time.Second, 0, time.Hour}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			i := 0
			g := &IDGenerator{Now: func() time.Time { i++; return base.Add(tc.clock[i-1]) }}
			var ids []string
			var stamps []time.Time
			for range tc.clock {
				id, stamp := g.Next()
				require.Len(t, id, IDLen)
				require.Empty(t, strings.Trim(id, idDigits), "alphabet")
				ids = append(ids, id)
				stamps = append(stamps, stamp)
			}
			for j := 1; j < len(ids); j++ {
				require.Less(t, ids[j-1], ids[j], "ids sort as strings in the order they were made")
				require.True(t, stamps[j-1].Before(stamps[j]), "times strictly increase with the ids")
			}
			require.True(t, stamps[0].Equal(base.Add(tc.clock[0])), "the first time is the clock's")
			require.Equal(t, time.UTC, stamps[0].Location())
		})
	}
}

func TestIDGeneratorIsUnpredictable(t *testing.T) {
	now := time.Unix(1700000000, 0)
	a := &IDGenerator{Now: func() time.Time { return now }}
	b := &IDGenerator{Now: func() time.Time { return now }}
	idA, tA := a.Next()
	idB, tB := b.Next()
	require.True(t, tA.Equal(tB))
	require.Equal(t, idA[:idPartLen], idB[:idPartLen], "same time part")
	require.NotEqual(t, idA, idB, "generators with the same clock still make different ids")
}

func TestIDGeneratorConcurrentUse(t *testing.T) {
	var g IDGenerator // the zero value reads time.Now
	const workers, each = 4, 500
	ids := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				id, _ := g.Next()
				ids[w] = append(ids[w], id)
			}
		})
	}
	wg.Wait()
	all := slices.Concat(ids...)
	for _, own := range ids {
		require.True(t, slices.IsSorted(own), "each caller sees increasing ids")
	}
	slices.Sort(all)
	require.Len(t, slices.Compact(all), workers*each, "unique")
}

func TestIDGeneratorBeforeTheEpoch(t *testing.T) {
	g := &IDGenerator{Now: func() time.Time { return time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC) }}
	id1, t1 := g.Next()
	id2, t2 := g.Next()
	require.Less(t, id1, id2)
	require.True(t, t1.Before(t2))
}
