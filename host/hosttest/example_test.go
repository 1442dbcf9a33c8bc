package hosttest_test

import (
	"context"
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
// delivered, here through a host.Recorder.
func ExampleRunRouter() {
	newHarness := func(t *testing.T) hosttest.RouterHarness {
		rec := host.NewRecorder(nil)
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
