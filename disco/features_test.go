package disco_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/disco/info"

	"github.com/mixpam/mixpam/disco"
)

// Static check: Features is a mellium FeatureIter.
var _ info.FeatureIter = disco.Features{}

func TestFeatures(t *testing.T) {
	for _, tc := range []struct {
		name     string
		features disco.Features
		node     string
		want     []string
	}{
		{"without archive", disco.Features{}, "", []string{"urn:xmpp:mix:pam:2"}},
		{"with archive", disco.Features{Archive: true}, "", []string{"urn:xmpp:mix:pam:2", "urn:xmpp:mix:pam:2#archive"}},
		{"other node", disco.Features{Archive: true}, "urn:xmpp:mix:pam:2", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			err := tc.features.ForFeatures(tc.node, func(f info.Feature) error {
				got = append(got, f.Var)
				return nil
			})
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestFeaturesStopsOnError(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	err := disco.Features{Archive: true}.ForFeatures("", func(info.Feature) error {
		calls++
		return stop
	})
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1, calls)
}
