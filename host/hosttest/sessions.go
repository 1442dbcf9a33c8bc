package hosttest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/kit"
)

// SessionsHarness is a session registry under test and the means to change
// which sessions are online, which host.Sessions leaves to the host.
type SessionsHarness struct {
	// Sessions is the registry under test.
	Sessions host.Sessions
	// Flags records per-session flags in the same registry. If nil,
	// Sessions must implement host.FlagSetter.
	Flags host.FlagSetter
	// Online brings the session with the given full JID online, as binding
	// a resource does.
	Online func(session jid.JID) error
	// Offline ends the session with the given full JID, as a disconnect
	// does.
	Offline func(session jid.JID) error
}

// RunSessions tests the registry of the harness returned by newHarness
// against the contract documented on host.Sessions and host.FlagSetter, in
// subtests. newHarness is called once per subtest and must return a
// registry with no session online; it may register cleanups on t.
//
// The kit does not assume the flags of a session that just came online:
// it only checks that setting and clearing them works per session.
func RunSessions(t *testing.T, newHarness func(t *testing.T) SessionsHarness) {
	t.Helper()
	runSessions(kit.FromTesting(t), kit.Adapt(newHarness))
}

// JIDs the kit uses, from XEP-0405's examples.
var (
	hag66          = jid.MustParse("hag66@shakespeare.example")
	hag66Laptop    = jid.MustParse("hag66@shakespeare.example/UUID-a1j/7533")
	hag66Phone     = jid.MustParse("hag66@shakespeare.example/UUID-x4r/2491")
	hag66Other     = jid.MustParse("hag66@shakespeare.example/desktop")
	hag66Elsewhere = jid.MustParse("hag66@elsewhere.example/UUID-a1j/7533")
	hag01Laptop    = jid.MustParse("hag01@shakespeare.example/UUID-c8y/1573")
)

// Sizes of the concurrency subtest.
const sessionWorkers = 8

type sessionsTest struct {
	name string
	f    func(t kit.T, h SessionsHarness)
}

var sessionsTests = []sessionsTest{
	{"OfflineUserHasNoResources", testOfflineUser},
	{"OnlineSessionsListed", testOnlineSessionsListed},
	{"StableOrder", testStableOrder},
	{"OfflineRemoves", testOfflineRemoves},
	{"FlagsPerSession", testFlagsPerSession},
	{"FlagsUnknownSession", testFlagsUnknownSession},
	{"SnapshotStable", testSnapshotStable},
	{"CallerOwnsSlice", testCallerOwnsSlice},
	{"InterestedAfterRosterGet", testInterested},
	{"ConcurrentUse", testSessionsConcurrent},
}

func runSessions(t kit.T, newHarness func(kit.T) SessionsHarness) {
	t.Helper()
	for _, tc := range sessionsTests {
		t.Run(tc.name, func(t kit.T) {
			h := newHarness(t)
			if h.Flags == nil {
				f, ok := h.Sessions.(host.FlagSetter)
				if !ok {
					t.Fatalf("harness has no Flags and its Sessions (%T) is not a host.FlagSetter", h.Sessions)
				}
				h.Flags = f
			}
			if h.Sessions == nil || h.Online == nil || h.Offline == nil {
				t.Fatalf("harness needs Sessions, Online and Offline")
			}
			tc.f(t, h)
		})
	}
}

func online(t kit.T, h SessionsHarness, sessions ...jid.JID) {
	t.Helper()
	for _, s := range sessions {
		kit.NoError(t, h.Online(s), "bringing %s online", s)
	}
}

func offline(t kit.T, h SessionsHarness, sessions ...jid.JID) {
	t.Helper()
	for _, s := range sessions {
		kit.NoError(t, h.Offline(s), "taking %s offline", s)
	}
}

func resources(t kit.T, h SessionsHarness, user jid.JID) []host.Resource {
	t.Helper()
	rs, err := h.Sessions.Resources(t.Context(), user)
	kit.NoError(t, err, "Resources(%s)", user)
	return rs
}

func fullJIDs(rs []host.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.JID.String()
	}
	return out
}

func strs(js ...jid.JID) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = j.String()
	}
	return out
}

// resource returns session's entry in Resources of its bare JID.
func resource(t kit.T, h SessionsHarness, session jid.JID) host.Resource {
	t.Helper()
	for _, r := range resources(t, h, session.Bare()) {
		if r.JID.Equal(session) {
			return r
		}
	}
	t.Fatalf("Resources(%s) does not list online session %s", session.Bare(), session)
	return host.Resource{}
}

func testOfflineUser(t kit.T, h SessionsHarness) {
	kit.Empty(t, resources(t, h, hag66), "Resources of a user never online")
	online(t, h, hag01Laptop)
	kit.Empty(t, resources(t, h, hag66), "Resources of a user never online while another is")
}

func testOnlineSessionsListed(t kit.T, h SessionsHarness) {
	online(t, h, hag66Laptop, hag01Laptop, hag66Phone, hag66Elsewhere, hag66Other)
	kit.ElementsMatch(t, strs(hag66Laptop, hag66Phone, hag66Other), fullJIDs(resources(t, h, hag66)),
		"Resources(%s) lists exactly the user's online sessions", hag66)
	kit.ElementsMatch(t, strs(hag01Laptop), fullJIDs(resources(t, h, hag01Laptop.Bare())), "Resources of another user")
	kit.ElementsMatch(t, strs(hag66Elsewhere), fullJIDs(resources(t, h, hag66Elsewhere.Bare())), "Resources of the same localpart on another domain")
}

func testStableOrder(t kit.T, h SessionsHarness) {
	online(t, h, hag66Phone, hag66Laptop, hag66Other)
	first := fullJIDs(resources(t, h, hag66))
	kit.Len(t, first, 3, "Resources(%s) with three sessions online", hag66)
	kit.Equal(t, first, fullJIDs(resources(t, h, hag66)), "order of Resources called twice")
	kit.NoError(t, h.Flags.SetMIXCapable(t.Context(), hag66Laptop, true), "SetMIXCapable(%s, true)", hag66Laptop)
	kit.NoError(t, h.Flags.SetAnnotate(t.Context(), hag66Other, true), "SetAnnotate(%s, true)", hag66Other)
	kit.Equal(t, first, fullJIDs(resources(t, h, hag66)), "order of Resources after setting flags")
}

func testOfflineRemoves(t kit.T, h SessionsHarness) {
	online(t, h, hag66Laptop, hag66Phone, hag66Other)
	offline(t, h, hag66Phone)
	kit.ElementsMatch(t, strs(hag66Laptop, hag66Other), fullJIDs(resources(t, h, hag66)), "Resources after one session went offline")
	offline(t, h, hag66Laptop, hag66Other)
	kit.Empty(t, resources(t, h, hag66), "Resources after every session went offline")
	online(t, h, hag66Phone)
	kit.ElementsMatch(t, strs(hag66Phone), fullJIDs(resources(t, h, hag66)), "Resources after a session came back")
}

func testFlagsPerSession(t kit.T, h SessionsHarness) {
	ctx := t.Context()
	online(t, h, hag66Laptop, hag66Phone, hag66Elsewhere)
	// Start from known flags, whatever the host sets when a session binds.
	kit.NoError(t, h.Flags.SetMIXCapable(ctx, hag66Laptop, false), "SetMIXCapable(%s, false)", hag66Laptop)
	kit.NoError(t, h.Flags.SetAnnotate(ctx, hag66Laptop, false), "SetAnnotate(%s, false)", hag66Laptop)
	others := map[string]host.Resource{}
	for _, s := range []jid.JID{hag66Phone, hag66Elsewhere} {
		others[s.String()] = resource(t, h, s)
	}
	checkOthers := func(when string) {
		t.Helper()
		for _, s := range []jid.JID{hag66Phone, hag66Elsewhere} {
			kit.Equal(t, others[s.String()], resource(t, h, s), "flags of %s after %s on %s", s, when, hag66Laptop)
		}
	}
	for _, tc := range []struct {
		op            string
		set           func() error
		mix, annotate bool
	}{
		{"SetMIXCapable(true)", func() error { return h.Flags.SetMIXCapable(ctx, hag66Laptop, true) }, true, false},
		{"SetAnnotate(true)", func() error { return h.Flags.SetAnnotate(ctx, hag66Laptop, true) }, true, true},
		{"SetMIXCapable(false)", func() error { return h.Flags.SetMIXCapable(ctx, hag66Laptop, false) }, false, true},
		{"SetAnnotate(false)", func() error { return h.Flags.SetAnnotate(ctx, hag66Laptop, false) }, false, false},
	} {
		kit.NoError(t, tc.set(), "%s", tc.op)
		r := resource(t, h, hag66Laptop)
		kit.Equal(t, tc.mix, r.MIXCapable, "MIXCapable of %s after %s", hag66Laptop, tc.op)
		kit.Equal(t, tc.annotate, r.Annotate, "Annotate of %s after %s", hag66Laptop, tc.op)
		checkOthers(tc.op)
	}
	kit.NoError(t, h.Flags.SetBlocklistRequested(ctx, hag66Laptop), "SetBlocklistRequested(%s)", hag66Laptop)
	r := resource(t, h, hag66Laptop)
	kit.True(t, r.BlocklistRequested, "BlocklistRequested of %s after SetBlocklistRequested", hag66Laptop)
	kit.False(t, r.MIXCapable || r.Annotate, "MIXCapable or Annotate of %s changed by SetBlocklistRequested", hag66Laptop)
	checkOthers("SetBlocklistRequested")
}

func testFlagsUnknownSession(t kit.T, h SessionsHarness) {
	ctx := t.Context()
	online(t, h, hag66Laptop, hag66Phone)
	offline(t, h, hag66Phone)
	for _, s := range []jid.JID{hag01Laptop, hag66Other, hag66Phone, hag66Elsewhere} {
		for _, op := range []struct {
			name string
			err  error
		}{
			{"SetMIXCapable", h.Flags.SetMIXCapable(ctx, s, true)},
			{"SetAnnotate", h.Flags.SetAnnotate(ctx, s, true)},
			{"SetBlocklistRequested", h.Flags.SetBlocklistRequested(ctx, s)},
		} {
			if !errors.Is(op.err, host.ErrNoSession) {
				t.Fatalf("%s(%s) of a session that is not online: got error %v, want host.ErrNoSession (errors.Is)", op.name, s, op.err)
			}
		}
	}
	kit.ElementsMatch(t, strs(hag66Laptop), fullJIDs(resources(t, h, hag66)), "Resources after setting flags of sessions not online")
	kit.Empty(t, resources(t, h, hag01Laptop.Bare()), "Resources of a user whose flags were set while offline")
}

func testSnapshotStable(t kit.T, h SessionsHarness) {
	online(t, h, hag66Laptop, hag66Phone)
	rs := resources(t, h, hag66)
	want := fullJIDs(rs)
	wantFlags := make([]bool, len(rs))
	for i := range rs {
		wantFlags[i] = rs[i].MIXCapable
	}
	kit.NoError(t, h.Flags.SetMIXCapable(t.Context(), hag66Laptop, !resource(t, h, hag66Laptop).MIXCapable), "SetMIXCapable(%s) to the other value", hag66Laptop)
	online(t, h, hag66Other)
	kit.NoError(t, h.Offline(hag66Phone), "taking %s offline", hag66Phone)
	kit.Equal(t, want, fullJIDs(rs), "a slice returned by Resources changed when the sessions changed afterwards")
	for i := range rs {
		kit.Equal(t, wantFlags[i], rs[i].MIXCapable, "a slice returned by Resources changed when a flag changed afterwards")
	}
}

// testCallerOwnsSlice changes a slice returned by Resources in every way a
// caller may (filtering it in place, changing and zeroing its elements) and
// checks that the registry did not change: a registry that hands out memory
// it keeps would now list other sessions or lose flags. A registry that is
// also a host.ResourceAppender gets the same check for AppendResources.
func testCallerOwnsSlice(t kit.T, h SessionsHarness) {
	ctx := t.Context()
	online(t, h, hag66Laptop, hag66Phone, hag66Other)
	kit.NoError(t, h.Flags.SetMIXCapable(ctx, hag66Phone, true), "SetMIXCapable(%s, true)", hag66Phone)
	want := resources(t, h, hag66)
	for _, mutate := range []struct {
		name string
		f    func([]host.Resource)
	}{
		{"filtered in place with slices.DeleteFunc", func(rs []host.Resource) {
			_ = slices.DeleteFunc(rs, func(r host.Resource) bool { return !r.MIXCapable })
		}},
		{"elements changed", func(rs []host.Resource) {
			for i := range rs {
				rs[i].JID = hag01Laptop
				rs[i].MIXCapable = !rs[i].MIXCapable
				rs[i].Annotate = !rs[i].Annotate
				rs[i].Interested = !rs[i].Interested
				rs[i].Available = !rs[i].Available
				rs[i].Priority = -rs[i].Priority - 1
			}
		}},
		{"elements zeroed", func(rs []host.Resource) { clear(rs) }},
	} {
		mutate.f(resources(t, h, hag66))
		kit.Equal(t, want, resources(t, h, hag66), "Resources after the caller's slice was %s", mutate.name)
		kit.NoError(t, h.Flags.SetAnnotate(ctx, hag66Laptop, false), "SetAnnotate after the caller's slice was %s", mutate.name)
		want = resources(t, h, hag66)
	}
	kit.Empty(t, resources(t, h, hag01Laptop.Bare()), "Resources of another user after a caller wrote its JID into a returned slice")
	if a, ok := h.Sessions.(host.ResourceAppender); ok {
		testAppenderOwned(t, h, a, want)
	}
}

// testAppenderOwned checks a host.ResourceAppender the way
// testCallerOwnsSlice checks Resources: it appends after what dst holds,
// without touching it, and what it returns belongs to the caller, whether
// dst was nil, empty or had room.
func testAppenderOwned(t kit.T, h SessionsHarness, a host.ResourceAppender, want []host.Resource) {
	ctx := t.Context()
	prefix := host.Resource{JID: hag01Laptop, Priority: 7}
	for _, dst := range []struct {
		name string
		dst  []host.Resource
	}{
		{"nil", nil},
		{"empty with room", make([]host.Resource, 0, 8)},
		{"holding one resource", append(make([]host.Resource, 0, 8), prefix)},
	} {
		n := len(dst.dst)
		got, err := a.AppendResources(ctx, dst.dst, hag66)
		kit.NoError(t, err, "AppendResources(dst %s, %s)", dst.name, hag66)
		if n > 0 {
			kit.Equal(t, dst.dst, got[:n], "AppendResources changed what dst (%s) held", dst.name)
		}
		kit.Equal(t, want, got[n:], "AppendResources to dst (%s) against Resources", dst.name)
		clear(got)
		kit.Equal(t, want, resources(t, h, hag66), "Resources after the slice AppendResources returned (dst %s) was zeroed", dst.name)
		again, err := a.AppendResources(ctx, nil, hag66)
		kit.NoError(t, err, "AppendResources(nil, %s)", hag66)
		kit.Equal(t, want, again, "AppendResources after the slice it returned (dst %s) was zeroed", dst.name)
	}
}

// testInterested checks that a roster get (SetAnnotate, with or without
// annotation) makes the session an interested resource (RFC 6121 §2.1.6),
// and only that session.
func testInterested(t kit.T, h SessionsHarness) {
	ctx := t.Context()
	online(t, h, hag66Laptop, hag66Phone)
	kit.False(t, resource(t, h, hag66Phone).Interested, "Interested of a session that never requested the roster")
	for _, annotate := range []bool{false, true, false} {
		kit.NoError(t, h.Flags.SetAnnotate(ctx, hag66Laptop, annotate), "SetAnnotate(%s, %v)", hag66Laptop, annotate)
		kit.True(t, resource(t, h, hag66Laptop).Interested, "Interested after SetAnnotate(%v)", annotate)
		kit.False(t, resource(t, h, hag66Phone).Interested, "Interested of another session after SetAnnotate(%v) on %s", annotate, hag66Laptop)
	}
	offline(t, h, hag66Laptop)
	online(t, h, hag66Laptop)
	kit.False(t, resource(t, h, hag66Laptop).Interested, "Interested of a session that bound again and has not requested the roster since")
}

// testSessionsConcurrent runs workers that each bring their own session
// online, set its flags and read the user's resources; every other worker
// takes its session offline again.
func testSessionsConcurrent(t kit.T, h SessionsHarness) {
	ctx := t.Context()
	errs := make([]error, sessionWorkers)
	session := func(w int) jid.JID { return jid.MustParse(fmt.Sprintf("hag66@shakespeare.example/worker-%d", w)) }
	var wg sync.WaitGroup
	for w := range sessionWorkers {
		wg.Go(func() {
			s := session(w)
			errs[w] = func() error {
				if err := h.Online(s); err != nil {
					return fmt.Errorf("online: %w", err)
				}
				if err := h.Flags.SetMIXCapable(ctx, s, true); err != nil {
					return fmt.Errorf("SetMIXCapable: %w", err)
				}
				if _, err := h.Sessions.Resources(ctx, hag66); err != nil {
					return fmt.Errorf("Resources: %w", err)
				}
				if err := h.Flags.SetAnnotate(ctx, s, true); err != nil {
					return fmt.Errorf("SetAnnotate: %w", err)
				}
				if w%2 == 1 {
					if err := h.Offline(s); err != nil {
						return fmt.Errorf("offline: %w", err)
					}
				}
				return nil
			}()
		})
	}
	wg.Wait()
	var want []string
	for w, err := range errs {
		kit.NoError(t, err, "worker %d", w)
		if w%2 == 0 {
			want = append(want, session(w).String())
		}
	}
	rs := resources(t, h, hag66)
	kit.ElementsMatch(t, want, fullJIDs(rs), "Resources after %d concurrent workers", sessionWorkers)
	for _, r := range rs {
		kit.True(t, r.MIXCapable && r.Annotate, "flags of %s set concurrently: MIXCapable %v, Annotate %v", r.JID, r.MIXCapable, r.Annotate)
	}
}
