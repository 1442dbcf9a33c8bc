package hosttest

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/kit"
)

func memSessionsHarness(m *host.MemSessions) SessionsHarness {
	return SessionsHarness{
		Sessions: m,
		Online: func(s jid.JID) error {
			m.Add(host.Resource{JID: s})
			return nil
		},
		Offline: func(s jid.JID) error {
			if !m.Remove(s) {
				return fmt.Errorf("%s was not online", s)
			}
			return nil
		},
	}
}

func TestMemSessions(t *testing.T) {
	RunSessions(t, func(*testing.T) SessionsHarness { return memSessionsHarness(host.NewMemSessions()) })
}

// recorderHarness waits for deliveries to one JID with Recorder.Wait.
func recorderHarness(r *Recorder) RouterHarness {
	return RouterHarness{
		Router: r,
		Delivered: func(ctx context.Context, to jid.JID, n int) ([][]byte, error) {
			for {
				total := len(r.Deliveries())
				if ds := r.To(to); len(ds) >= n {
					return stanzas(ds), nil
				}
				if _, err := r.Wait(ctx, total+1); err != nil {
					return stanzas(r.To(to)), err
				}
			}
		},
	}
}

func stanzas(ds []Delivery) [][]byte {
	out := make([][]byte, len(ds))
	for i, d := range ds {
		out[i] = d.Stanza
	}
	return out
}

func TestRecorder(t *testing.T) {
	RunRouter(t, func(*testing.T) RouterHarness { return recorderHarness(NewRecorder(nil)) })
}

// TestRouteOnly runs the router kit against a Router without the raw fast
// path, so that RouteRaw subtests go through host.RouteBytes's decoding.
func TestRouteOnly(t *testing.T) {
	RunRouter(t, func(*testing.T) RouterHarness {
		h := recorderHarness(NewRecorder(nil))
		h.Router = routeOnly{h.Router}
		return h
	})
}

type routeOnly struct{ r host.Router }

func (r routeOnly) Route(ctx context.Context, to jid.JID, stanza xml.TokenReader) error {
	return r.r.Route(ctx, to, stanza)
}

// TestKitFailsOnBrokenSessions runs the sessions kit against deliberately
// broken registries and checks that the subtests covering each defect fail.
func TestKitFailsOnBrokenSessions(t *testing.T) {
	tests := []struct {
		name    string
		harness func() SessionsHarness
		failing []string
	}{
		{"flag set on every session of the user", func() SessionsHarness {
			m := host.NewMemSessions()
			h := memSessionsHarness(m)
			h.Flags = userWideFlags{m}
			return h
		}, []string{"FlagsPerSession"}},
		{"flag of an unknown session accepted", func() SessionsHarness {
			m := host.NewMemSessions()
			h := memSessionsHarness(m)
			h.Flags = lenientFlags{m}
			return h
		}, []string{"FlagsUnknownSession"}},
		{"Offline does nothing", func() SessionsHarness {
			h := memSessionsHarness(host.NewMemSessions())
			h.Offline = func(jid.JID) error { return nil }
			return h
		}, []string{"OfflineRemoves", "ConcurrentUse"}},
		{"returned slice changed in place afterwards", func() SessionsHarness {
			s := &inPlaceSessions{users: make(map[string][]host.Resource)}
			return SessionsHarness{Sessions: s, Online: s.online, Offline: s.offline}
		}, []string{"SnapshotStable"}},
		{"returned slice shared with the registry", func() SessionsHarness {
			s := &sharedSessions{users: make(map[string][]host.Resource)}
			return SessionsHarness{Sessions: s, Online: s.online, Offline: s.offline}
		}, []string{"CallerOwnsSlice"}},
		{"AppendResources shares the registry's list", func() SessionsHarness {
			s := &sharedAppender{sharedSessions{users: make(map[string][]host.Resource)}}
			return SessionsHarness{Sessions: s, Online: s.online, Offline: s.offline}
		}, []string{"CallerOwnsSlice"}},
		{"roster get does not make the session interested", func() SessionsHarness {
			m := host.NewMemSessions()
			h := memSessionsHarness(m)
			h.Flags = uninterestedFlags{m}
			return h
		}, []string{"InterestedAfterRosterGet"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			failures := kit.Record(func(t kit.T) {
				runSessions(t, func(kit.T) SessionsHarness { return tc.harness() })
			})
			logFailures(t, failures)
			require.Subset(t, kit.FailedTests(failures), tc.failing, "the kit must catch: %s", tc.name)
		})
	}
}

// userWideFlags sets a flag on all of the user's sessions.
type userWideFlags struct{ m *host.MemSessions }

func (f userWideFlags) SetMIXCapable(ctx context.Context, session jid.JID, capable bool) error {
	return f.each(ctx, session, func(s jid.JID) error { return f.m.SetMIXCapable(ctx, s, capable) })
}

func (f userWideFlags) SetAnnotate(ctx context.Context, session jid.JID, annotate bool) error {
	return f.each(ctx, session, func(s jid.JID) error { return f.m.SetAnnotate(ctx, s, annotate) })
}

func (f userWideFlags) SetBlocklistRequested(ctx context.Context, session jid.JID) error {
	return f.each(ctx, session, func(s jid.JID) error { return f.m.SetBlocklistRequested(ctx, s) })
}

func (f userWideFlags) each(ctx context.Context, session jid.JID, set func(jid.JID) error) error {
	rs, _ := f.m.Resources(ctx, session.Bare())
	if len(rs) == 0 {
		return host.ErrNoSession
	}
	for _, r := range rs {
		if err := set(r.JID); err != nil {
			return err
		}
	}
	return nil
}

// lenientFlags ignores flags for sessions that are not online.
type lenientFlags struct{ m *host.MemSessions }

func (f lenientFlags) SetMIXCapable(ctx context.Context, session jid.JID, capable bool) error {
	f.m.SetMIXCapable(ctx, session, capable) //nolint:errcheck // the defect under test
	return nil
}

func (f lenientFlags) SetAnnotate(ctx context.Context, session jid.JID, annotate bool) error {
	f.m.SetAnnotate(ctx, session, annotate) //nolint:errcheck // the defect under test
	return nil
}

func (f lenientFlags) SetBlocklistRequested(ctx context.Context, session jid.JID) error {
	f.m.SetBlocklistRequested(ctx, session) //nolint:errcheck // the defect under test
	return nil
}

// uninterestedFlags sets Annotate without Interested, as a registry written
// before RFC 6121 §2.1.6 interested resources would.
type uninterestedFlags struct{ m *host.MemSessions }

func (f uninterestedFlags) SetMIXCapable(ctx context.Context, session jid.JID, capable bool) error {
	return f.m.SetMIXCapable(ctx, session, capable)
}

func (f uninterestedFlags) SetAnnotate(ctx context.Context, session jid.JID, annotate bool) error {
	r, ok := f.m.Resource(session)
	if !ok {
		return host.ErrNoSession
	}
	r.Annotate = annotate
	f.m.Add(r)
	return nil
}

func (f uninterestedFlags) SetBlocklistRequested(ctx context.Context, session jid.JID) error {
	return f.m.SetBlocklistRequested(ctx, session)
}

// TestKitFailsOnBrokenRouters runs the router kit against deliberately
// broken routers and checks that the subtests covering each defect fail.
func TestKitFailsOnBrokenRouters(t *testing.T) {
	tests := []struct {
		name    string
		harness func() RouterHarness
		failing []string
	}{
		{"RouteRaw keeps the caller's buffer", func() RouterHarness { return newKeepingRouter().harness() }, []string{"RawBufferNotKept"}},
		{"Route reads the stanza after returning", func() RouterHarness { return newLazyRouter().harness() }, []string{"RouteConsumesBeforeReturn"}},
		{"Route re-encodes decoder tokens with xml.Encoder", func() RouterHarness {
			h := recorderHarness(NewRecorder(nil))
			h.Router = encoderRouter{h.Router.(*Recorder)}
			return h
		}, []string{"RouteDelivers", "RouteConsumesBeforeReturn"}},
		{"reorders a sender's stanzas", func() RouterHarness { return newSwappingRouter().harness() }, []string{"OrderPerSender"}},
		{"delivers to the bare JID", func() RouterHarness {
			h := recorderHarness(NewRecorder(nil))
			h.Router = bareRouter{h.Router.(*Recorder)}
			return impatient(h)
		}, []string{"RouteToEachJID"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			failures := kit.Record(func(t kit.T) {
				runRouter(t, func(kit.T) RouterHarness { return tc.harness() })
			})
			logFailures(t, failures)
			require.Subset(t, kit.FailedTests(failures), tc.failing, "the kit must catch: %s", tc.name)
		})
	}
}

// impatient makes h wait at most a moment for a delivery, for routers that
// lose some.
func impatient(h RouterHarness) RouterHarness {
	wait := h.Delivered
	h.Delivered = func(ctx context.Context, to jid.JID, n int) ([][]byte, error) {
		ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		return wait(ctx, to, n)
	}
	return h
}

func logFailures(t *testing.T, failures []kit.Failure) {
	t.Helper()
	for _, f := range failures {
		t.Logf("%s: %s", f.Test, f.Message)
	}
}

// keepingRouter records the caller's buffer in RouteRaw instead of a copy.
type keepingRouter struct {
	*Recorder
	mu   sync.Mutex
	kept map[string][][]byte
}

func newKeepingRouter() *keepingRouter {
	return &keepingRouter{Recorder: NewRecorder(nil), kept: make(map[string][][]byte)}
}

func (r *keepingRouter) RouteRaw(_ context.Context, to jid.JID, raw []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kept[to.String()] = append(r.kept[to.String()], raw)
	return nil
}

func (r *keepingRouter) harness() RouterHarness {
	h := recorderHarness(r.Recorder)
	routed := h.Delivered
	h.Router = r
	h.Delivered = func(ctx context.Context, to jid.JID, n int) ([][]byte, error) {
		r.mu.Lock()
		kept := r.kept[to.String()]
		r.mu.Unlock()
		if len(kept) > 0 {
			return kept, nil
		}
		return routed(ctx, to, n)
	}
	return h
}

// lazyRouter reads a stanza's tokens only when the kit first waits for a
// delivery, long after Route returned.
type lazyRouter struct {
	*Recorder
	once    sync.Once
	release chan struct{}
	wg      sync.WaitGroup
}

func newLazyRouter() *lazyRouter {
	return &lazyRouter{Recorder: NewRecorder(nil), release: make(chan struct{})}
}

func (r *lazyRouter) Route(ctx context.Context, to jid.JID, stanza xml.TokenReader) error {
	r.wg.Go(func() {
		select {
		case <-r.release:
			r.Recorder.Route(ctx, to, stanza) //nolint:errcheck // test double
		case <-ctx.Done(): // the subtest ended without waiting for it
		}
	})
	return nil
}

func (r *lazyRouter) harness() RouterHarness {
	h := recorderHarness(r.Recorder)
	routed := h.Delivered
	h.Router = r
	h.Delivered = func(ctx context.Context, to jid.JID, n int) ([][]byte, error) {
		r.once.Do(func() { close(r.release) })
		r.wg.Wait()
		return routed(ctx, to, n)
	}
	return h
}

// encoderRouter serialises tokens with a bare xml.Encoder, which writes
// decoder tokens' namespaces twice.
type encoderRouter struct{ r *Recorder }

func (e encoderRouter) Route(ctx context.Context, to jid.JID, stanza xml.TokenReader) error {
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	if _, err := xmlstream.Copy(enc, stanza); err != nil {
		return err
	}
	if err := enc.Flush(); err != nil {
		return err
	}
	return e.r.RouteRaw(ctx, to, buf.Bytes())
}

// bareRouter delivers every stanza to the bare JID.
type bareRouter struct{ r *Recorder }

func (b bareRouter) Route(ctx context.Context, to jid.JID, stanza xml.TokenReader) error {
	return b.r.Route(ctx, to.Bare(), stanza)
}

// swappingRouter delivers the stanzas routed to one JID in pairs, the
// second first. A stanza left waiting for its pair is delivered when the
// kit waits for deliveries.
type swappingRouter struct {
	*Recorder
	mu   sync.Mutex
	held map[string][]byte
}

func newSwappingRouter() *swappingRouter {
	return &swappingRouter{Recorder: NewRecorder(nil), held: make(map[string][]byte)}
}

func (r *swappingRouter) Route(ctx context.Context, to jid.JID, stanza xml.TokenReader) error {
	scratch := NewRecorder(nil)
	if err := scratch.Route(ctx, to, stanza); err != nil {
		return err
	}
	return r.RouteRaw(ctx, to, scratch.Deliveries()[0].Stanza)
}

func (r *swappingRouter) RouteRaw(ctx context.Context, to jid.JID, raw []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	held, ok := r.held[to.String()]
	if !ok {
		r.held[to.String()] = slices.Clone(raw)
		return nil
	}
	delete(r.held, to.String())
	if err := r.Recorder.RouteRaw(ctx, to, raw); err != nil {
		return err
	}
	return r.Recorder.RouteRaw(ctx, to, held)
}

func (r *swappingRouter) harness() RouterHarness {
	h := recorderHarness(r.Recorder)
	routed := h.Delivered
	h.Router = r
	h.Delivered = func(ctx context.Context, to jid.JID, n int) ([][]byte, error) {
		r.mu.Lock()
		for k, raw := range r.held {
			if err := r.Recorder.RouteRaw(ctx, jid.MustParse(k), raw); err != nil {
				r.mu.Unlock()
				return nil, err
			}
		}
		clear(r.held)
		r.mu.Unlock()
		return routed(ctx, to, n)
	}
	return h
}

// inPlaceSessions hands out its own slices and then changes them in place,
// breaking the snapshot promise of host.Sessions.
type inPlaceSessions struct {
	mu    sync.Mutex
	users map[string][]host.Resource
}

func (s *inPlaceSessions) Resources(_ context.Context, user jid.JID) ([]host.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[user.Bare().String()], nil
}

func (s *inPlaceSessions) online(session jid.JID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := session.Bare().String()
	s.users[k] = append(s.users[k], host.Resource{JID: session})
	return nil
}

func (s *inPlaceSessions) offline(session jid.JID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := session.Bare().String()
	list := s.users[k]
	for i := range list {
		if list[i].JID.Equal(session) {
			// Shift in place: the defect under test.
			copy(list[i:], list[i+1:])
			s.users[k] = list[:len(list)-1]
			return nil
		}
	}
	return host.ErrNoSession
}

func (s *inPlaceSessions) set(session jid.JID, f func(*host.Resource)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.users[session.Bare().String()]
	for i := range list {
		if list[i].JID.Equal(session) {
			f(&list[i])
			return nil
		}
	}
	return host.ErrNoSession
}

func (s *inPlaceSessions) SetMIXCapable(_ context.Context, session jid.JID, capable bool) error {
	return s.set(session, func(r *host.Resource) { r.MIXCapable = capable })
}

func (s *inPlaceSessions) SetAnnotate(_ context.Context, session jid.JID, annotate bool) error {
	return s.set(session, func(r *host.Resource) { r.Annotate = annotate })
}

// sharedSessions is a copy-on-write registry that hands out its own slice:
// it never changes a slice it handed out, but a caller that filters or
// changes the slice it got changes the registry. It is how host.MemSessions
// worked before Resources returned a copy.
type sharedSessions struct {
	mu    sync.Mutex
	users map[string][]host.Resource
}

func (s *sharedSessions) Resources(_ context.Context, user jid.JID) ([]host.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[user.Bare().String()], nil
}

func (s *sharedSessions) online(session jid.JID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := session.Bare().String()
	s.users[k] = append(slices.Clip(s.users[k]), host.Resource{JID: session})
	return nil
}

func (s *sharedSessions) offline(session jid.JID) error {
	return s.change(session, func(list []host.Resource, i int) []host.Resource { return slices.Delete(list, i, i+1) })
}

func (s *sharedSessions) change(session jid.JID, f func(list []host.Resource, i int) []host.Resource) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := session.Bare().String()
	list := s.users[k]
	for i := range list {
		if list[i].JID.Equal(session) {
			s.users[k] = f(slices.Clone(list), i)
			return nil
		}
	}
	return host.ErrNoSession
}

func (s *sharedSessions) SetMIXCapable(_ context.Context, session jid.JID, capable bool) error {
	return s.change(session, func(list []host.Resource, i int) []host.Resource { list[i].MIXCapable = capable; return list })
}

func (s *sharedSessions) SetAnnotate(_ context.Context, session jid.JID, annotate bool) error {
	return s.change(session, func(list []host.Resource, i int) []host.Resource {
		list[i].Annotate, list[i].Interested = annotate, true
		return list
	})
}

// sharedAppender copies in Resources but, in AppendResources, hands out
// the registry's own list when dst is empty, as an appender that skips the
// append when it has nothing to append to would.
type sharedAppender struct{ sharedSessions }

func (s *sharedAppender) Resources(ctx context.Context, user jid.JID) ([]host.Resource, error) {
	return s.AppendResources(ctx, make([]host.Resource, 0, 1), user)
}

func (s *sharedAppender) AppendResources(_ context.Context, dst []host.Resource, user jid.JID) ([]host.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.users[user.Bare().String()]
	if dst == nil {
		return list, nil
	}
	return append(dst, list...), nil
}
