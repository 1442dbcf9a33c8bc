package kit

import (
	"cmp"
	"fmt"
	"reflect"
	"strings"
)

// The checks below are what the kits assert with. Each ends the calling
// (sub)test with Fatalf when it fails, as testify's require does, and
// reports what was checked (the format and args, which name the call and
// the situation), then what the implementation gave and what the contract
// wants. They depend only on the standard library, so that importing a kit
// adds no module to its user's build, as testing/slogtest does.

// NoError fails t if err is not nil.
func NoError(t T, err error, format string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", fmt.Sprintf(format, args...), err)
	}
}

// Equal fails t unless got and want are deeply equal (reflect.DeepEqual,
// as testify's Equal compares all but byte slices). For slices it also
// names the first element that differs.
func Equal[V any](t T, want, got V, format string, args ...any) {
	t.Helper()
	if reflect.DeepEqual(want, got) {
		return
	}
	t.Fatalf("%s:\n\tgot:  %s\n\twant: %s%s", fmt.Sprintf(format, args...), show(got), show(want), sliceDiff(want, got))
}

// Zero fails t unless v is its type's zero value.
func Zero[V comparable](t T, v V, format string, args ...any) {
	t.Helper()
	var zero V
	if v != zero {
		t.Fatalf("%s: got %s, want %s", fmt.Sprintf(format, args...), show(v), show(zero))
	}
}

// True fails t unless cond holds. The message must say what was expected.
func True(t T, cond bool, format string, args ...any) {
	t.Helper()
	if !cond {
		t.Fatalf("%s: got false, want true", fmt.Sprintf(format, args...))
	}
}

// False fails t if cond holds. The message must say what was expected.
func False(t T, cond bool, format string, args ...any) {
	t.Helper()
	if cond {
		t.Fatalf("%s: got true, want false", fmt.Sprintf(format, args...))
	}
}

// Len fails t unless s has n elements.
func Len[E any](t T, s []E, n int, format string, args ...any) {
	t.Helper()
	if len(s) != n {
		t.Fatalf("%s: got %d element(s), want %d: %s", fmt.Sprintf(format, args...), len(s), n, show(s))
	}
}

// Empty fails t unless s has no elements.
func Empty[E any](t T, s []E, format string, args ...any) {
	t.Helper()
	if len(s) != 0 {
		t.Fatalf("%s: got %d element(s), want none: %s", fmt.Sprintf(format, args...), len(s), show(s))
	}
}

// NotEmpty fails t if s has no elements.
func NotEmpty[E any](t T, s []E, format string, args ...any) {
	t.Helper()
	if len(s) == 0 {
		t.Fatalf("%s: got no elements, want some", fmt.Sprintf(format, args...))
	}
}

// ElementsMatch fails t unless got holds the elements of want, each as
// many times, in any order. It names the elements missing and extra.
func ElementsMatch[E comparable](t T, want, got []E, format string, args ...any) {
	t.Helper()
	count := make(map[E]int, len(want))
	for _, e := range want {
		count[e]++
	}
	var extra []E
	for _, e := range got {
		if count[e] > 0 {
			count[e]--
		} else {
			extra = append(extra, e)
		}
	}
	var missing []E
	for _, e := range want {
		if count[e] > 0 {
			count[e]--
			missing = append(missing, e)
		}
	}
	if len(missing) == 0 && len(extra) == 0 {
		return
	}
	t.Fatalf("%s: not the same elements (in any order)\n\tmissing: %s\n\textra:   %s\n\tgot:  %s\n\twant: %s",
		fmt.Sprintf(format, args...), show(missing), show(extra), show(got), show(want))
}

// Less fails t unless got < bound.
func Less[V cmp.Ordered](t T, got, bound V, format string, args ...any) {
	t.Helper()
	if !(got < bound) {
		t.Fatalf("%s: got %s, want less than %s", fmt.Sprintf(format, args...), show(got), show(bound))
	}
}

// LessOrEqual fails t unless got <= bound.
func LessOrEqual[V cmp.Ordered](t T, got, bound V, format string, args ...any) {
	t.Helper()
	if !(got <= bound) {
		t.Fatalf("%s: got %s, want at most %s", fmt.Sprintf(format, args...), show(got), show(bound))
	}
}

// Greater fails t unless got > bound.
func Greater[V cmp.Ordered](t T, got, bound V, format string, args ...any) {
	t.Helper()
	if !(got > bound) {
		t.Fatalf("%s: got %s, want greater than %s", fmt.Sprintf(format, args...), show(got), show(bound))
	}
}

// GreaterOrEqual fails t unless got >= bound.
func GreaterOrEqual[V cmp.Ordered](t T, got, bound V, format string, args ...any) {
	t.Helper()
	if !(got >= bound) {
		t.Fatalf("%s: got %s, want at least %s", fmt.Sprintf(format, args...), show(got), show(bound))
	}
}

// maxShown bounds how much of one value a failure message prints.
const maxShown = 2000

// show formats v for a failure message: strings and byte slices quoted,
// so that whitespace and markup show, and everything cut at maxShown bytes.
func show(v any) string {
	var s string
	switch v := v.(type) {
	case string, []string, []byte:
		s = fmt.Sprintf("%q", v)
	default:
		s = fmt.Sprintf("%+v", v)
	}
	if len(s) > maxShown {
		s = s[:maxShown] + fmt.Sprintf("… (%d bytes more)", len(s)-maxShown)
	}
	return s
}

// sliceDiff describes where two slices differ: their lengths and the first
// index whose elements differ. It returns "" for values that are not
// slices.
func sliceDiff(want, got any) string {
	w, g := reflect.ValueOf(want), reflect.ValueOf(got)
	if w.Kind() != reflect.Slice || g.Kind() != reflect.Slice {
		return ""
	}
	var b strings.Builder
	if w.Len() != g.Len() {
		fmt.Fprintf(&b, "\n\tlength: got %d, want %d", g.Len(), w.Len())
	}
	for i := range min(w.Len(), g.Len()) {
		if !reflect.DeepEqual(w.Index(i).Interface(), g.Index(i).Interface()) {
			fmt.Fprintf(&b, "\n\tfirst difference at index %d: got %s, want %s", i, show(g.Index(i).Interface()), show(w.Index(i).Interface()))
			break
		}
	}
	return b.String()
}
