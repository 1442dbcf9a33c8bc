package presence

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
	"github.com/mixpam/mixpam/internal/splice"
	"github.com/mixpam/mixpam/roster"
)

func TestSessionHoldKeepsNewest(t *testing.T) {
	var stanzas []splice.Stanza
	for _, from := range []string{"a@x", "b@x", "c@x"} {
		s, err := splice.Capture(nil, stanza.Presence{From: jid.MustParse(from)}.Wrap(nil))
		require.NoError(t, err)
		stanzas = append(stanzas, s)
	}
	var s session
	require.False(t, s.hold(stanzas[0], 2))
	require.False(t, s.hold(stanzas[1], 2))
	require.True(t, s.hold(stanzas[2], 2), "over the limit: the oldest goes")
	require.Equal(t, stanzas[1:], s.pending)
}

func TestDebugLogging(t *testing.T) {
	var buf bytes.Buffer
	hs := newHarness(t, withLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	hs.join(coven, roster.From)
	hs.online(mixClient, true)
	require.True(t, hs.inbound(`<presence from='1#witches@mix.shakespeare.example/r' to='`+userBare+`'/>`))
	require.Contains(t, buf.String(), "refreshing channel presence")
	require.Contains(t, buf.String(), "dropped presence from a channel the user has not joined")

	// Quiet by default.
	quiet := newHarness(t)
	require.False(t, quiet.h.log.Enabled(context.Background(), slog.LevelDebug))
}

func TestScratchPoolDropsHugeBuffers(t *testing.T) {
	for _, tc := range []struct {
		name string
		sc   *scratch
	}{
		{"capture buffer", &scratch{buf: make([]byte, 0, maxPooledBuf+1)}},
		{"copy buffer", &scratch{out: make([]byte, 0, maxPooledBuf+1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHandler(t, host.NewMemSessions(), hosttest.NewRecorder(nil), roster.NewMemStore())
			h.putScratch(tc.sc)
			got := h.getScratch()
			require.NotSame(t, tc.sc, got, "a huge stanza's buffer must not stay pooled")
			require.LessOrEqual(t, cap(got.buf), maxPooledBuf)
			require.LessOrEqual(t, cap(got.out), maxPooledBuf)
		})
	}
}

// A Config without one of its required fields, or with a negative bound, is
// refused with an error naming it, not a Handler that panics on first use.
func TestNewRefusesIncompleteConfig(t *testing.T) {
	full := Config{Sessions: host.NewMemSessions(), Router: hosttest.NewRecorder(nil), Rosters: roster.NewMemStore()}
	for _, tc := range []struct {
		name, want string
		change     func(*Config)
	}{
		{"no sessions", "Config.Sessions is required", func(c *Config) { c.Sessions = nil }},
		{"no router", "Config.Router is required", func(c *Config) { c.Router = nil }},
		{"no rosters", "Config.Rosters is required", func(c *Config) { c.Rosters = nil }},
		{"negative cache", "must not be negative", func(c *Config) { c.Cache.Total = -1 }},
		{"negative refresh", "must not be negative", func(c *Config) { c.RefreshTimeout = -1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := full
			tc.change(&c)
			h, err := New(c)
			require.ErrorContains(t, err, tc.want)
			require.Nil(t, h)
		})
	}
	h, err := New(full)
	require.NoError(t, err)
	require.NotNil(t, h)
}
