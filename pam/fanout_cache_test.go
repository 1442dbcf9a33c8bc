package pam

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/splice"
)

func TestFanOutCacheIsBounded(t *testing.T) {
	var c fanOutCache
	for i := range maxFanOutCached + 10 {
		s := fmt.Sprintf("coven@mix.shakespeare.example/%d", i)
		j, str, err := c.parse(s)
		require.NoError(t, err)
		require.Equal(t, s, str)
		require.Equal(t, s, j.String())
		esc := c.resources(nil, []host.Resource{{JID: j, MIXCapable: true}, {JID: fanOutUser}})
		require.Equal(t, []splice.Escaped{splice.Escape(fmt.Sprint(i))}, esc)
		require.LessOrEqual(t, len(c.jids), maxFanOutCached)
		require.LessOrEqual(t, len(c.names), maxFanOutCached)
	}
}

func TestFanOutCacheParses(t *testing.T) {
	var c fanOutCache
	for range 2 {
		j, str, err := c.parse("HECATE@Shakespeare.Example")
		require.NoError(t, err)
		require.Equal(t, "hecate@shakespeare.example", str, "the canonical form")
		require.True(t, j.Equal(fanOutUser))
	}
	for range 2 {
		_, _, err := c.parse("@@")
		require.Error(t, err)
	}
	require.Len(t, c.jids, 1, "errors are not cached")
	rs := []host.Resource{
		{JID: jid.MustParse(`hecate@shakespeare.example/a"b&`), MIXCapable: true},
		{JID: jid.MustParse(`hecate@shakespeare.example/legacy`)},
		{JID: jid.MustParse(`hecate@shakespeare.example/phone`), MIXCapable: true},
	}
	for range 2 {
		require.Equal(t, []splice.Escaped{`a&quot;b&amp;`, `phone`}, c.resources([]splice.Escaped{"kept"}, rs)[1:])
	}
	require.Len(t, c.names, 2)
}

func TestFanOutAllocationsDoNotGrowWithRecipients(t *testing.T) {
	if fanOutRace {
		t.Skip("counted without -race: the race detector's instrumentation allocates in map lookups and drops pooled buffers")
	}
	ctx := context.Background()
	allocs := func(n int) float64 {
		f := newFanOutBench(t, n, fanOutNopArchive{})
		replay := newFanOutReplay(t, fanOutTypical)
		return testing.AllocsPerRun(50, func() {
			res, err := f.ServeMessage(ctx, replay.start, replay.rewind())
			if err != nil || res.Delivered != n {
				t.Fatal(res, err)
			}
		})
	}
	one := allocs(1)
	require.Equal(t, one, allocs(10))
	require.Equal(t, one, allocs(100))
}
