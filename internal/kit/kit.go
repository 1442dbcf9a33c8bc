// Package kit is the plumbing shared by mixpam's conformance kits
// (roster/rostertest, archive/archivetest, blocking/blockingtest,
// host/hosttest).
//
// A kit's public entry point takes a *testing.T, as testing/fstest and
// testing/slogtest do. Internally it runs against T, the part of *testing.T
// it uses, so that the kit's own tests can run it through Record and prove
// that it fails on a broken implementation without failing themselves. The
// kits assert with the checks of this package, which print what was checked,
// what the implementation gave and what the contract wants; they use nothing
// beyond the standard library, so importing a kit adds no module (testify
// least of all) to its user's build, as with testing/slogtest.
package kit

import (
	"context"
	"testing"
)

// T is the part of *testing.T that a conformance kit uses. The kits check
// with the functions of this package (NoError, Equal, ...), not with
// testify, so that they depend on the standard library's testing only.
type T interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	FailNow()
	// Context is canceled just before the test ends.
	Context() context.Context
	// Run runs f as a subtest named name and reports whether it passed.
	Run(name string, f func(T)) bool
}

// FromTesting adapts t to T.
func FromTesting(t *testing.T) T { return testingT{t} }

// Adapt turns a kit user's constructor, which takes a *testing.T, into one
// that takes a T made by FromTesting.
func Adapt[S any](newS func(*testing.T) S) func(T) S {
	return func(t T) S { return newS(t.(testingT).T) }
}

type testingT struct{ *testing.T }

func (t testingT) Run(name string, f func(T)) bool {
	t.T.Helper()
	return t.T.Run(name, func(t *testing.T) { f(testingT{t}) })
}

// Test is one subtest of a kit, run against an implementation of type S.
type Test[S any] struct {
	Name string
	F    func(t T, impl S)
}

// RunAll runs every test in a subtest of its own, each against a new
// implementation from newImpl. A nil implementation fails the subtest.
func RunAll[S any](t T, tests []Test[S], newImpl func(T) S) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.Name, func(t T) {
			impl := newImpl(t)
			if any(impl) == nil {
				t.Fatalf("the kit's constructor returned nil")
			}
			tc.F(t, impl)
		})
	}
}
