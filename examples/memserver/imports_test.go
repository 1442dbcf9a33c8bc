package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNoLibraryInternals keeps the example server what it claims to be: a
// host built on mixpam's public API. Its code (tests aside, which may use
// the repository's test helpers such as internal/pgtest) imports no
// internal package of the library, which another module could not import.
func TestNoLibraryInternals(t *testing.T) {
	const internal = "github.com/mixpam/mixpam/internal/"
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			require.NoError(t, err)
			require.False(t, strings.HasPrefix(p, internal), "%s imports %s", path, p)
		}
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, files, 20, "the example's files were read")
}
