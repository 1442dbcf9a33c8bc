package kit_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/internal/kit"
)

func TestRecord(t *testing.T) {
	var (
		afterFatal bool
		passed     = map[string]bool{}
		ctx        context.Context
	)
	failures := kit.Record(func(t kit.T) {
		passed["ok"] = t.Run("ok", func(t kit.T) { ctx = t.Context() })
		passed["fails"] = t.Run("fails", func(t kit.T) {
			t.Errorf("first %d", 1)
			t.Run("nested", func(t kit.T) {
				t.Fatalf("fatal %s", "here")
				afterFatal = true
			})
			t.Errorf("second")
		})
		passed["require"] = t.Run("require", func(t kit.T) {
			require.Equal(t, 1, 2, "numbers")
			afterFatal = true
		})
		passed["silent"] = t.Run("silent", func(t kit.T) { t.FailNow() })
	})
	require.False(t, afterFatal, "Fatalf and require end the subtest")
	require.Equal(t, map[string]bool{"ok": true, "fails": false, "require": false, "silent": false}, passed)
	require.Error(t, ctx.Err(), "a subtest's context is canceled when it ends")
	require.Equal(t, []string{"fails", "fails/nested", "require", "silent"}, kit.FailedTests(failures))
	require.Equal(t, kit.Failure{Test: "fails", Message: "first 1"}, failures[0])
	require.Equal(t, kit.Failure{Test: "fails/nested", Message: "fatal here"}, failures[1])
	require.Equal(t, kit.Failure{Test: "fails", Message: "second"}, failures[2])
	require.Contains(t, failures[3].Message, "numbers")
	require.Equal(t, kit.Failure{Test: "silent", Message: "FailNow without a message"}, failures[4])
}

func TestFromTesting(t *testing.T) {
	var inner *testing.T
	kt := kit.FromTesting(t)
	ok := kt.Run("sub", func(sub kit.T) {
		newS := kit.Adapt(func(t *testing.T) string {
			inner = t
			return t.Name()
		})
		require.Equal(t, "TestFromTesting/sub", newS(sub))
	})
	require.True(t, ok)
	require.NotNil(t, inner)
}

func TestRunAll(t *testing.T) {
	type store interface{ Name() string }
	var ran []string
	tests := []kit.Test[store]{
		{Name: "First", F: func(kit.T, store) { ran = append(ran, "First") }},
		{Name: "Second", F: func(kit.T, store) { ran = append(ran, "Second") }},
	}
	failures := kit.Record(func(t kit.T) {
		kit.RunAll(t, tests, func(kit.T) store { return nil })
	})
	require.Equal(t, []string{"First", "Second"}, kit.FailedTests(failures), "a nil implementation fails every subtest")
	require.Empty(t, ran, "no test runs against a nil implementation")

	failures = kit.Record(func(t kit.T) {
		kit.RunAll(t, tests, func(kit.T) store { return named("x") })
	})
	require.Empty(t, failures)
	require.Equal(t, []string{"First", "Second"}, ran)
}

type named string

func (n named) Name() string { return string(n) }
