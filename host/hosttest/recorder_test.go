package hosttest_test

import (
	"context"
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host/hosttest"
)

// JIDs from XEP-0405's examples.
var (
	hag66       = jid.MustParse("hag66@shakespeare.example")
	hag66Laptop = jid.MustParse("hag66@shakespeare.example/UUID-a1j/7533")
	coven       = jid.MustParse("coven@mix.shakespeare.example")
)

func tokens(s string) xml.TokenReader { return xml.NewDecoder(strings.NewReader(s)) }

func TestRecorderWait(t *testing.T) {
	rec := hosttest.NewRecorder(nil)
	got := make(chan []hosttest.Delivery, 1)
	go func() {
		ds, err := rec.Wait(t.Context(), 2)
		if err != nil {
			t.Errorf("Wait: %v", err)
		}
		got <- ds
	}()
	require.NoError(t, rec.RouteRaw(t.Context(), hag66, []byte(`<message id="1"/>`)))
	select {
	case ds := <-got:
		t.Fatalf("Wait(2) returned after one delivery: %v", ds)
	default:
	}
	require.NoError(t, rec.RouteRaw(t.Context(), hag66Laptop, []byte(`<message id="2"/>`)))
	ds := <-got
	require.Len(t, ds, 2)
	require.Equal(t, `<message id="1"/>`, string(ds[0].Stanza))
	require.Equal(t, `<message id="2"/>`, string(ds[1].Stanza))

	// Already reached: Wait returns at once.
	ds, err := rec.Wait(t.Context(), 1)
	require.NoError(t, err)
	require.Len(t, ds, 2)
}

func TestRecorderWaitContextEnds(t *testing.T) {
	rec := hosttest.NewRecorder(nil)
	require.NoError(t, rec.RouteRaw(t.Context(), hag66, []byte(`<message/>`)))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ds, err := rec.Wait(ctx, 2)
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, ds, 1, "Wait returns the deliveries so far when ctx ends")
}

func TestRecorderTo(t *testing.T) {
	rec := hosttest.NewRecorder(nil)
	for _, d := range []struct {
		to jid.JID
		id string
	}{{hag66, "1"}, {hag66Laptop, "2"}, {hag66, "3"}} {
		require.NoError(t, rec.RouteRaw(t.Context(), d.to, []byte(`<message id="`+d.id+`"/>`)))
	}
	bare := rec.To(hag66)
	require.Len(t, bare, 2, "To(bare) holds only the deliveries to exactly the bare JID")
	require.Equal(t, `<message id="3"/>`, string(bare[1].Stanza))
	require.Len(t, rec.To(hag66Laptop), 1)
	require.Empty(t, rec.To(coven))

	rec.Reset()
	require.Empty(t, rec.Deliveries())
	require.NoError(t, rec.RouteRaw(t.Context(), hag66, []byte(`<message id="4"/>`)))
	ds, err := rec.Wait(t.Context(), 1)
	require.NoError(t, err)
	require.Len(t, ds, 1, "Wait counts from the last Reset")
}

func TestRecorderRoute(t *testing.T) {
	rec := hosttest.NewRecorder(nil)
	msg := stanza.Message{To: hag66Laptop, From: coven, ID: "m1", Type: stanza.GroupChatMessage}
	require.NoError(t, rec.Route(t.Context(), hag66Laptop, msg.Wrap(tokens(`<mix xmlns="urn:xmpp:mix:core:1"><nick>thirdwitch</nick></mix>`))))
	ds := rec.Deliveries()
	require.Len(t, ds, 1)
	require.True(t, ds[0].To.Equal(hag66Laptop))
	require.Equal(t, `<message type="groupchat" to="hag66@shakespeare.example/UUID-a1j/7533" from="coven@mix.shakespeare.example" id="m1"><mix xmlns="urn:xmpp:mix:core:1"><nick>thirdwitch</nick></mix></message>`, string(ds[0].Stanza))

	err := rec.Route(t.Context(), hag66, tokens(`<message><unclosed></message>`))
	require.Error(t, err, "Route of a stanza that does not parse")
	require.Len(t, rec.Deliveries(), 1, "a stanza that does not parse is not recorded")
}

func TestRecorderRouteRawCopies(t *testing.T) {
	rec := hosttest.NewRecorder(nil)
	buf := []byte(`<message id="1"/>`)
	require.NoError(t, rec.RouteRaw(t.Context(), hag66, buf))
	copy(buf, "XXXXXXXXXXXXXXXXX")
	require.Equal(t, `<message id="1"/>`, string(rec.Deliveries()[0].Stanza))
}

func TestRecorderForward(t *testing.T) {
	errDown := errors.New("peer down")
	var seen []hosttest.Delivery
	var rec *hosttest.Recorder
	rec = hosttest.NewRecorder(func(_ context.Context, d hosttest.Delivery) error {
		require.Len(t, rec.Deliveries(), len(seen)+1, "forward runs after recording")
		seen = append(seen, d)
		return errDown
	})
	err := rec.RouteRaw(t.Context(), coven, []byte(`<iq type="get" id="1"/>`))
	require.ErrorIs(t, err, errDown, "forward's error is returned")
	require.Len(t, seen, 1)
	require.True(t, seen[0].To.Equal(coven))
	require.Equal(t, `<iq type="get" id="1"/>`, string(seen[0].Stanza))
}

// TestRecorderHandsOutCopies changes, in every way a caller could, the
// stanzas that Deliveries, Wait and forward handed out, and checks that
// the record did not change.
func TestRecorderHandsOutCopies(t *testing.T) {
	const want = `<message id="1"/>`
	rec := hosttest.NewRecorder(func(_ context.Context, d hosttest.Delivery) error {
		clear(d.Stanza)
		return nil
	})
	require.NoError(t, rec.RouteRaw(t.Context(), hag66, []byte(want)))
	for name, got := range map[string]func() []hosttest.Delivery{
		"Deliveries": rec.Deliveries,
		"Wait": func() []hosttest.Delivery {
			ds, err := rec.Wait(t.Context(), 1)
			require.NoError(t, err)
			return ds
		},
		"To": func() []hosttest.Delivery { return rec.To(hag66) },
	} {
		ds := got()
		require.Len(t, ds, 1, name)
		require.Equal(t, want, string(ds[0].Stanza), "%s after forward cleared its copy", name)
		clear(ds[0].Stanza)
		require.Equal(t, want, string(rec.Deliveries()[0].Stanza), "record after the stanza %s returned was cleared", name)
	}
}
