package mixservice

import (
	"bytes"
	"context"
	"encoding/xml"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/host/hosttest"
)

// stanzaIDs returns, for each recipient, the ids of the messages it was
// sent, in order.
func stanzaIDs(t *testing.T, rec *hosttest.Recorder) map[string][]string {
	t.Helper()
	ids := make(map[string][]string)
	for _, d := range rec.Deliveries() {
		s := parseOut(t, d)
		if s.XMLName.Local == "message" && s.attr("type") == "groupchat" {
			ids[d.To.String()] = append(ids[d.To.String()], s.attr("id"))
		}
	}
	return ids
}

func TestConcurrentMessagesKeepOneOrder(t *testing.T) {
	h := newHarness(t, Limits{})
	h.create("coven", hecateRes)
	const senders, each = 8, 25
	users := make([]string, senders)
	for i := range users {
		users[i] = "witch" + strconv.Itoa(i) + "@shakespeare.example"
		h.join(coven, users[i], "witch "+strconv.Itoa(i), allNodes)
	}
	h.rec.Reset()

	var wg sync.WaitGroup
	for _, u := range users {
		wg.Go(func() {
			for i := range each {
				msg := `<message type='groupchat' id='` + strconv.Itoa(i) + `' from='` + u + `/res' to='` + coven + `'><body>x</body></message>`
				require.NoError(t, h.svc.Deliver(context.Background(), []byte(msg)))
			}
		})
	}
	wg.Wait()

	ids := stanzaIDs(t, h.rec)
	require.Len(t, ids, senders)
	first := ids[users[0]]
	require.Len(t, first, senders*each)
	for _, u := range users {
		require.Equal(t, first, ids[u], "every participant sees the channel's messages in one order")
	}
}

func TestRouterMayCallDeliver(t *testing.T) {
	// The router hands hecate's copy to a participant server that answers
	// at once, from inside Route: with a message of its own the first time,
	// and by bouncing an error every time.
	var svc *Service
	answered := false
	rec := hosttest.NewRecorder(func(ctx context.Context, d hosttest.Delivery) error {
		if d.To.String() != hecate {
			return nil
		}
		var m struct {
			Type string `xml:"type,attr"`
			ID   string `xml:"id,attr"`
		}
		require.NoError(t, xml.Unmarshal(d.Stanza, &m))
		if m.Type != "groupchat" {
			return nil
		}
		bounce := `<message type='error' id='` + m.ID + `' from='` + hecate + `' to='` + coven + `'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`
		require.NoError(t, svc.Deliver(ctx, []byte(bounce)))
		if !answered {
			answered = true
			reply := `<message type='groupchat' id='r' from='` + hecateRes + `' to='` + coven + `'><body>reply</body></message>`
			require.NoError(t, svc.Deliver(ctx, []byte(reply)))
		}
		return nil
	})
	svc = New(Config{Domain: service, Router: rec})
	h := &harness{t: t, rec: rec, svc: svc}
	h.create("coven", hecateRes)
	h.join(coven, hecate, "top witch", `<subscribe node='urn:xmpp:mix:nodes:messages'/>`)
	h.join(coven, hag66, "thirdwitch", `<subscribe node='urn:xmpp:mix:nodes:messages'/>`)

	out := h.deliver(harpier)
	require.True(t, answered)
	// hag66's message to both, then hecate's reply to both: the reply was
	// queued from inside Route and routed after, by the same Deliver.
	require.Len(t, out, 4)
	require.Equal(t, []string{hecate, hag66, hecate, hag66}, recipients(out))
	require.Equal(t, "Harpier cries: 'tis time, 'tis time.", out[1].child("body").Text)
	require.Equal(t, "reply", out[2].child("body").Text)
	require.Equal(t, out[2].attr("id"), out[3].attr("id"))
}

func TestPendingLimit(t *testing.T) {
	// The first message routed to hecate blocks the router until released,
	// so that the Deliver routing it holds the channel's outbox.
	entered, release := make(chan struct{}), make(chan struct{})
	var once, releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	// A failed assertion must not leave the routing goroutine blocked.
	t.Cleanup(unblock)
	rec := hosttest.NewRecorder(func(_ context.Context, d hosttest.Delivery) error {
		if d.To.String() == hecate && bytes.HasPrefix(d.Stanza, []byte("<message")) {
			once.Do(func() {
				close(entered)
				<-release
			})
		}
		return nil
	})
	svc := New(Config{Domain: service, Router: rec, Limits: Limits{Pending: 2}})
	h := &harness{t: t, rec: rec, svc: svc}
	h.create("coven", hecateRes)
	h.join(coven, hag66, "thirdwitch", `<subscribe node='urn:xmpp:mix:nodes:messages'/>`)
	h.join(coven, hecate, "top witch", `<subscribe node='urn:xmpp:mix:nodes:messages'/>`)
	message := func(id string) []byte {
		return []byte(`<message type='groupchat' id='` + id + `' from='` + hag66Res + `' to='` + coven + `'><body>` + id + `</body></message>`)
	}

	done := make(chan error)
	go func() { done <- svc.Deliver(context.Background(), message("blocked")) }()
	select {
	case <-entered:
	case err := <-done:
		t.Fatalf("the first message was routed without blocking: Deliver returned %v", err)
	}
	// Two more are queued for the blocked Deliver to route; they return at
	// once.
	require.NoError(t, svc.Deliver(context.Background(), message("q1")))
	require.NoError(t, svc.Deliver(context.Background(), message("q2")))
	// The next one is refused, and the refusal does not wait.
	before := len(rec.Deliveries())
	require.NoError(t, svc.Deliver(context.Background(), message("refused")))
	out := rec.Deliveries()[before:]
	require.Len(t, out, 1)
	parseOut(t, out[0]).requireError(t, "message", "refused", "resource-constraint")
	// Unavailable presence and errors get no answer, even so.
	for _, raw := range []string{
		`<message type='error' id='e' from='` + hag66Res + `' to='` + coven + `'/>`,
		`<presence type='unavailable' id='u' from='` + hag66Res + `' to='` + coven + `'/>`,
	} {
		require.NoError(t, svc.Deliver(context.Background(), []byte(raw)))
	}
	require.Len(t, rec.Deliveries(), before+1)

	unblock()
	require.NoError(t, <-done)
	var bodies []string
	for _, s := range to(parsedAll(t, rec), hecate) {
		if s.attr("type") == "groupchat" {
			bodies = append(bodies, s.child("body").Text)
		}
	}
	require.Equal(t, []string{"blocked", "q1", "q2"}, bodies, "what was accepted is routed, in order")
}

func parsedAll(t *testing.T, rec *hosttest.Recorder) []stanzaOut {
	var out []stanzaOut
	for _, d := range rec.Deliveries() {
		out = append(out, parseOut(t, d))
	}
	return out
}
