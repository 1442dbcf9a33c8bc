package accounts

import (
	"fmt"
	"strings"
)

// Numbered is one account of a -user-pattern.
type Numbered struct{ Name, Password string }

// MaxNumbered bounds the count of a -user-pattern.
const MaxNumbered = 1000000

// ExpandPattern expands a -user-pattern, pattern:password:count with %d in
// the pattern: load%d:pw:3 gives load1, load2 and load3, password pw. An
// empty spec gives none.
func ExpandPattern(spec string) ([]Numbered, error) {
	if spec == "" {
		return nil, nil
	}
	i, j := strings.Index(spec, ":"), strings.LastIndex(spec, ":")
	if i < 0 || i == j || !strings.Contains(spec[:i], "%d") {
		return nil, fmt.Errorf("-user-pattern %q: want pattern:password:count with %%d in the pattern", spec)
	}
	var n int
	if _, err := fmt.Sscan(spec[j+1:], &n); err != nil || n < 1 || n > MaxNumbered {
		return nil, fmt.Errorf("-user-pattern %q: count must be 1 to %d", spec, MaxNumbered)
	}
	out := make([]Numbered, n)
	for k := range out {
		out[k] = Numbered{Name: strings.ReplaceAll(spec[:i], "%d", fmt.Sprint(k+1)), Password: spec[i+1 : j]}
	}
	return out, nil
}
