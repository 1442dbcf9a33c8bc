package hosttest_test

import (
	"context"
	"fmt"
	"testing"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/host/hosttest"
)

// A host runs the sessions kit with a harness that binds and unbinds
// sessions in its own registry, here a host.MemSessions.
func ExampleRunSessions() {
	newHarness := func(t *testing.T) hosttest.SessionsHarness {
		reg := host.NewMemSessions()
		return hosttest.SessionsHarness{
			Sessions: reg,
			Flags:    reg,
			Online: func(session jid.JID) error {
				reg.Add(host.Resource{JID: session})
				return nil
			},
			Offline: func(session jid.JID) error {
				reg.Remove(session)
				return nil
			},
		}
	}
	// In a _test.go file:
	_ = func(t *testing.T) { hosttest.RunSessions(t, newHarness) }
}

// A host runs the router kit with a harness that reports what its router
// delivered, here through a hosttest.Recorder.
func ExampleRunRouter() {
	newHarness := func(t *testing.T) hosttest.RouterHarness {
		rec := hosttest.NewRecorder(nil)
		return hosttest.RouterHarness{
			Router: rec,
			Delivered: func(ctx context.Context, to jid.JID, n int) ([][]byte, error) {
				for {
					seen := len(rec.Deliveries())
					if ds := rec.To(to); len(ds) >= n {
						out := make([][]byte, len(ds))
						for i, d := range ds {
							out[i] = d.Stanza
						}
						return out, nil
					}
					if _, err := rec.Wait(ctx, seen+1); err != nil {
						return nil, err
					}
				}
			},
		}
	}
	// In a _test.go file:
	_ = func(t *testing.T) { hosttest.RunRouter(t, newHarness) }
}

// A Recorder records what mixpam routes, for tests; Wait synchronises with
// deliveries made by other goroutines.
func ExampleRecorder() {
	rec := hosttest.NewRecorder(nil)
	to := jid.MustParse("hag66@shakespeare.example/UUID-a1j/7533")
	go host.RouteBytes(context.Background(), rec, to, []byte(`<message type="groupchat"><body>Harpier cries</body></message>`))

	deliveries, err := rec.Wait(context.Background(), 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(deliveries[0].To)
	fmt.Println(string(deliveries[0].Stanza))
	// Output:
	// hag66@shakespeare.example/UUID-a1j/7533
	// <message type="groupchat"><body>Harpier cries</body></message>
}
