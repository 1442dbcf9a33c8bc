package host_test

import (
	"context"
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
)

// routeOnly hides a Recorder's RouteRaw.
type routeOnly struct{ r *hosttest.Recorder }

func (r routeOnly) Route(ctx context.Context, to jid.JID, stanza xml.TokenReader) error {
	return r.r.Route(ctx, to, stanza)
}

func TestRouteBytes(t *testing.T) {
	// Serialised as xmlenc writes it, so that decoding and re-encoding it
	// gives the same bytes.
	const raw = `<message to="hag66@shakespeare.example" type="groupchat"><body>a &amp; b</body><mix xmlns="urn:xmpp:mix:core:1"><nick>x</nick></mix></message>`
	for _, tc := range []struct {
		name   string
		router func(*hosttest.Recorder) host.Router
	}{
		{"RawRouter", func(r *hosttest.Recorder) host.Router { return r }},
		{"Router", func(r *hosttest.Recorder) host.Router { return routeOnly{r} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := hosttest.NewRecorder(nil)
			require.NoError(t, host.RouteBytes(t.Context(), tc.router(rec), hag66, []byte(raw)))
			ds := rec.To(hag66)
			require.Len(t, ds, 1)
			require.Equal(t, raw, string(ds[0].Stanza))
		})
	}
	t.Run("bad XML through Route", func(t *testing.T) {
		rec := hosttest.NewRecorder(nil)
		err := host.RouteBytes(t.Context(), routeOnly{rec}, hag66, []byte(`<message><body></message>`))
		require.Error(t, err)
		require.Empty(t, rec.Deliveries())
	})
}
