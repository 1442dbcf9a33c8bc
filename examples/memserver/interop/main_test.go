//go:build interop

package interop

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// python is the interpreter the scenarios run with: Debian's, which
// python3-slixmpp installs into (another python3 may come first in PATH).
const python = "/usr/bin/python3"

// buildTimeout bounds building the server (longer with -race).
const buildTimeout = 5 * time.Minute

// serverBinary is the path of the server built by TestMain, set once before
// any test runs.
var serverBinary string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

// runTests checks that slixmpp is there, builds the server and runs the
// tests.
func runTests(m *testing.M) int {
	version, err := slixmppVersion()
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "memserver-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	serverBinary = filepath.Join(dir, "memserver")
	if err := buildServer(serverBinary); err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "interop: slixmpp %s, server built (race detector: %v)\n", version, raceBuild)
	return m.Run()
}

// slixmppVersion returns the version of the slixmpp that python imports.
func slixmppVersion() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c", "import slixmpp; print(slixmpp.__version__)").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s cannot import slixmpp (install it with: apt-get install -y python3-slixmpp): %v\n%s", python, err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// buildServer builds examples/memserver into bin.
func buildServer(bin string) error {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	args := []string{"build", "-o", bin}
	if raceBuild {
		args = append(args, "-race")
	}
	args = append(args, "github.com/mixpam/mixpam/examples/memserver")
	// go test puts its own go first in PATH.
	out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("building the server: %v\n%s", err, out)
	}
	return nil
}
