package accounts_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/examples/memserver/internal/accounts"
)

func TestUserPattern(t *testing.T) {
	for _, tc := range []struct {
		spec  string
		names []string
		pw    string
		ok    bool
	}{
		{"", nil, "", true},
		{"load%d:pw:3", []string{"load1", "load2", "load3"}, "pw", true},
		{"u%d:a:b:2", []string{"u1", "u2"}, "a:b", true},
		{"load:pw:3", nil, "", false},
		{"load%d:pw", nil, "", false},
		{"load%d:pw:0", nil, "", false},
		{"load%d:pw:x", nil, "", false},
		{"load%d:pw:2000000", nil, "", false},
	} {
		got, err := accounts.ExpandPattern(tc.spec)
		if !tc.ok {
			require.Error(t, err, tc.spec)
			continue
		}
		require.NoError(t, err, tc.spec)
		require.Len(t, got, len(tc.names))
		for i, a := range got {
			require.Equal(t, tc.names[i], a.Name)
			require.Equal(t, tc.pw, a.Password)
		}
	}
}
