package kit_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/internal/kit"
)

// TestChecks runs each check on a value that passes and on one that fails,
// and checks that the failure ends the subtest with a message naming the
// call, what was got and what was wanted.
func TestChecks(t *testing.T) {
	type pair struct{ A, B string }
	tests := []struct {
		name  string
		pass  func(kit.T)
		fail  func(kit.T)
		lines []string // what the failure message holds, in order
	}{
		{"NoError",
			func(t kit.T) { kit.NoError(t, nil, "Put(%s)", "coven") },
			func(t kit.T) { kit.NoError(t, errors.New("disk full"), "Put(%s)", "coven") },
			[]string{"Put(coven): unexpected error: disk full"}},
		{"Equal scalar",
			func(t kit.T) { kit.Equal(t, uint64(3), 3, "version") },
			func(t kit.T) { kit.Equal(t, uint64(3), 2, "version of %s", "juliet") },
			[]string{"version of juliet:", "got:  2", "want: 3"}},
		{"Equal string quoted",
			func(t kit.T) { kit.Equal(t, "a b", "a b", "body") },
			func(t kit.T) { kit.Equal(t, "a b", "a  b", "body") },
			[]string{"body:", `got:  "a  b"`, `want: "a b"`}},
		{"Equal struct",
			func(t kit.T) { kit.Equal(t, pair{"x", "y"}, pair{"x", "y"}, "pair") },
			func(t kit.T) { kit.Equal(t, pair{"x", "y"}, pair{"x", "z"}, "pair") },
			[]string{"pair:", "got:  {A:x B:z}", "want: {A:x B:y}"}},
		{"Equal slice names the first difference",
			func(t kit.T) { kit.Equal(t, []string{"1", "2"}, []string{"1", "2"}, "ids") },
			func(t kit.T) { kit.Equal(t, []string{"1", "2", "3"}, []string{"1", "3"}, "ids") },
			[]string{"ids:", `got:  ["1" "3"]`, `want: ["1" "2" "3"]`, "length: got 2, want 3", `first difference at index 1: got "3", want "2"`}},
		{"Equal nil and empty slices differ, as in testify",
			func(t kit.T) { kit.Equal(t, []int(nil), nil, "nil") },
			func(t kit.T) { kit.Equal(t, []int(nil), []int{}, "items") },
			[]string{"items:", "got:  []", "want: []"}},
		{"Zero",
			func(t kit.T) { kit.Zero(t, uint64(0), "version") },
			func(t kit.T) { kit.Zero(t, int32(4), "late calls") },
			[]string{"late calls: got 4, want 0"}},
		{"True",
			func(t kit.T) { kit.True(t, true, "consumed") },
			func(t kit.T) { kit.True(t, false, "Route must consume the stanza") },
			[]string{"Route must consume the stanza: got false, want true"}},
		{"False",
			func(t kit.T) { kit.False(t, false, "interested") },
			func(t kit.T) { kit.False(t, true, "Interested of %s", "phone") },
			[]string{"Interested of phone: got true, want false"}},
		{"Len",
			func(t kit.T) { kit.Len(t, []int{1, 2}, 2, "items") },
			func(t kit.T) { kit.Len(t, []string{"a"}, 2, "items of %s", "juliet") },
			[]string{`items of juliet: got 1 element(s), want 2: ["a"]`}},
		{"Empty",
			func(t kit.T) { kit.Empty(t, []int(nil), "items") },
			func(t kit.T) { kit.Empty(t, []int{7}, "items") },
			[]string{"items: got 1 element(s), want none: [7]"}},
		{"NotEmpty",
			func(t kit.T) { kit.NotEmpty(t, []int{1}, "page") },
			func(t kit.T) { kit.NotEmpty(t, []int{}, "page") },
			[]string{"page: got no elements, want some"}},
		{"ElementsMatch names missing and extra elements",
			func(t kit.T) { kit.ElementsMatch(t, []string{"a", "b", "a"}, []string{"a", "a", "b"}, "groups") },
			func(t kit.T) { kit.ElementsMatch(t, []string{"a", "b", "a"}, []string{"b", "c", "a"}, "groups") },
			[]string{"groups: not the same elements (in any order)", `missing: ["a"]`, `extra:   ["c"]`, `got:  ["b" "c" "a"]`, `want: ["a" "b" "a"]`}},
		{"Less",
			func(t kit.T) { kit.Less(t, "a", "b", "id") },
			func(t kit.T) { kit.Less(t, 2, 2, "pages") },
			[]string{"pages: got 2, want less than 2"}},
		{"LessOrEqual",
			func(t kit.T) { kit.LessOrEqual(t, 2, 2, "records") },
			func(t kit.T) { kit.LessOrEqual(t, 3, 2, "records") },
			[]string{"records: got 3, want at most 2"}},
		{"Greater",
			func(t kit.T) { kit.Greater(t, uint64(3), 2, "version") },
			func(t kit.T) { kit.Greater(t, uint64(2), 2, "version") },
			[]string{"version: got 2, want greater than 2"}},
		{"GreaterOrEqual",
			func(t kit.T) { kit.GreaterOrEqual(t, 2, 2, "count") },
			func(t kit.T) { kit.GreaterOrEqual(t, 1, 2, "count") },
			[]string{"count: got 1, want at least 2"}},
		{"long values are cut",
			func(t kit.T) { kit.Equal(t, strings.Repeat("x", 5000), strings.Repeat("x", 5000), "stanza") },
			func(t kit.T) { kit.Equal(t, strings.Repeat("x", 5000), "y", "stanza") },
			[]string{"stanza:", `got:  "y"`, "… (3002 bytes more)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Empty(t, kit.Record(tc.pass), "a check that holds reports nothing")

			var after bool
			failures := kit.Record(func(t kit.T) {
				tc.fail(t)
				after = true
			})
			require.False(t, after, "a failed check ends the test")
			require.Len(t, failures, 1)
			msg := failures[0].Message
			for _, want := range tc.lines {
				i := strings.Index(msg, want)
				require.GreaterOrEqual(t, i, 0, "failure message %q lacks %q", msg, want)
				msg = msg[i+len(want):]
			}
		})
	}
}
