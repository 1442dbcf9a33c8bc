package archive

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestStampLayout pins the XEP-0082 stamp to six fractional digits: clients
// such as slixmpp 1.8 fail on more, and a fixed width sorts as a string.
func TestStampLayout(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 11, 21, 20, 34, 30, 616520615, time.UTC), "2026-11-21T20:34:30.616520Z"},
		{time.Date(2026, 11, 21, 20, 34, 30, 0, time.UTC), "2026-11-21T20:34:30.000000Z"},
		{time.Date(2026, 11, 21, 21, 34, 30, 5000, time.FixedZone("CET", 3600)).UTC(), "2026-11-21T20:34:30.000005Z"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, tc.in.Format(stampLayout))
	}
}
