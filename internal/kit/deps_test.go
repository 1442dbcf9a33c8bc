package kit_test

import (
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/mixpam/mixpam"

// kits maps each conformance kit (and the kits' plumbing) to the package
// whose contract it tests: importing the kit must add no module beyond
// those the tested package needs, testify least of all. The kits depend on
// the standard library's testing only, as testing/slogtest does.
var kits = map[string]string{
	module + "/roster/rostertest":     module + "/roster",
	module + "/archive/archivetest":   module + "/archive",
	module + "/blocking/blockingtest": module + "/blocking",
	module + "/host/hosttest":         module + "/host",
	module + "/internal/kit":          "",
}

// TestKitsDependOnlyOnTesting lists, with go list -deps, the packages each
// kit's non-test files build with, and checks that they come from no
// module the tested package does not already need.
func TestKitsDependOnlyOnTesting(t *testing.T) {
	goTool, err := exec.LookPath("go")
	require.NoError(t, err, "the go command, to list the kits' dependencies")
	for _, kit := range slices.Sorted(maps.Keys(kits)) {
		t.Run(kit[len(module)+1:], func(t *testing.T) {
			deps := listDeps(t, goTool, kit)
			require.Contains(t, deps, "testing", "go list -deps %s lists the packages it builds with", kit)
			allowed := map[string]bool{module: true}
			if tested := kits[kit]; tested != "" {
				for _, mod := range listDeps(t, goTool, tested) {
					allowed[mod] = true
				}
			}
			var testify, extra []string
			for pkg, mod := range deps {
				if strings.HasPrefix(pkg, "github.com/stretchr/") {
					testify = append(testify, pkg)
				}
				if mod != "" && !allowed[mod] {
					extra = append(extra, pkg+" (module "+mod+")")
				}
			}
			slices.Sort(testify)
			slices.Sort(extra)
			require.Empty(t, testify, "testify packages %s builds with", kit)
			require.Empty(t, extra, "packages %s builds with from modules that %s does not need", kit, kits[kit])
		})
	}
}

// listDeps returns the packages pkg builds with, its test files left out,
// each mapped to its module's path ("" for the standard library).
func listDeps(t *testing.T, goTool, pkg string) map[string]string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), goTool, "list", "-deps", "-f", "{{.ImportPath}} {{with .Module}}{{.Path}}{{end}}", pkg)
	out, err := cmd.Output()
	var stderr []byte
	if exit, ok := err.(*exec.ExitError); ok {
		stderr = exit.Stderr
	}
	require.NoError(t, err, "go list -deps %s: %s", pkg, stderr)
	deps := make(map[string]string)
	for line := range strings.Lines(string(out)) {
		pkg, mod, _ := strings.Cut(strings.TrimSpace(line), " ")
		deps[pkg] = mod
	}
	return deps
}
