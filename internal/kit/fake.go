package kit

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
)

// Failure is one failure reported through Errorf, Fatalf or FailNow (a
// FailNow of a test that reported nothing yet records "FailNow without a
// message").
type Failure struct {
	// Test is the failing subtest's name relative to the function given to
	// Record: subtest names joined by '/', as go test prints them ("" for
	// the function itself).
	Test string
	// Message is what was reported.
	Message string
}

// Record runs f against a T that records failures instead of reporting
// them, waits for f and all its subtests, and returns the failures in the
// order they were reported. It lets a kit's tests run the kit against a
// broken implementation and check which subtests fail.
//
// As with testing.T, FailNow and Fatalf end the calling goroutine with
// runtime.Goexit, and Run runs each subtest in a goroutine of its own and
// waits for it; a failed subtest fails its parents.
func Record(f func(T)) []Failure {
	var log failureLog
	root := newFake(context.Background(), "", nil, &log)
	root.run(f)
	return log.all()
}

type failureLog struct {
	mu       sync.Mutex
	failures []Failure
}

func (l *failureLog) add(f Failure) {
	l.mu.Lock()
	l.failures = append(l.failures, f)
	l.mu.Unlock()
}

func (l *failureLog) all() []Failure {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Failure(nil), l.failures...)
}

type fake struct {
	name   string
	parent *fake
	log    *failureLog
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	failed bool
}

func newFake(ctx context.Context, name string, parent *fake, log *failureLog) *fake {
	ctx, cancel := context.WithCancel(ctx)
	return &fake{name: name, parent: parent, log: log, ctx: ctx, cancel: cancel}
}

// run calls f in a new goroutine, so that FailNow ends only f, and waits.
func (t *fake) run(f func(T)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer t.cancel()
		f(t)
	}()
	<-done
}

func (t *fake) Helper() {}

func (t *fake) Errorf(format string, args ...any) {
	t.log.add(Failure{Test: t.name, Message: fmt.Sprintf(format, args...)})
	t.fail()
}

func (t *fake) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	runtime.Goexit()
}

func (t *fake) FailNow() {
	t.mu.Lock()
	silent := !t.failed
	t.mu.Unlock()
	if silent {
		t.Errorf("FailNow without a message")
	}
	t.fail()
	runtime.Goexit()
}

func (t *fake) fail() {
	for p := t; p != nil; p = p.parent {
		p.mu.Lock()
		p.failed = true
		p.mu.Unlock()
	}
}

func (t *fake) Context() context.Context { return t.ctx }

func (t *fake) Run(name string, f func(T)) bool {
	full := name
	if t.name != "" {
		full = t.name + "/" + name
	}
	sub := newFake(t.ctx, full, t, t.log)
	sub.run(f)
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return !sub.failed
}

// FailedTests returns the distinct Test names of failures, in order of first
// failure.
func FailedTests(failures []Failure) []string {
	var names []string
	for _, f := range failures {
		if !slices.Contains(names, f.Test) {
			names = append(names, f.Test)
		}
	}
	return names
}
