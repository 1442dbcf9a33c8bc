// Package hosttest holds conformance kits for the host seams of package host,
// in the spirit of testing/fstest: a server that embeds mixpam runs them
// against its own session registry and router. It also holds Recorder, an
// in-memory router that records what it is given, for tests, as
// net/http/httptest holds ResponseRecorder.
//
//	func TestSessions(t *testing.T) {
//		hosttest.RunSessions(t, func(t *testing.T) hosttest.SessionsHarness {
//			reg := newMyRegistry(t)
//			return hosttest.SessionsHarness{
//				Sessions: reg,
//				Flags:    reg,
//				Online:   reg.bind,   // func(session jid.JID) error
//				Offline:  reg.unbind, // func(session jid.JID) error
//			}
//		})
//	}
//
//	func TestRouter(t *testing.T) {
//		hosttest.RunRouter(t, func(t *testing.T) hosttest.RouterHarness {
//			r := newMyRouter(t)
//			return hosttest.RouterHarness{Router: r, Delivered: r.waitFor}
//		})
//	}
//
// The interfaces alone do not let a kit bring a session online or see what
// a router delivered, so each kit takes a harness: the implementation under
// test plus the few functions that do that for it.
package hosttest
