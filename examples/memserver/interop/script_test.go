//go:build interop

package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	// stepTimeout bounds each wait inside a scenario (an answer, a
	// stanza): everything happens on loopback, so 10 s means "never".
	stepTimeout = 10 * time.Second
	// scenarioTimeout is the scenario's own deadline for all its steps.
	scenarioTimeout = 45 * time.Second
	// killTimeout is the hard limit after which the script is killed.
	killTimeout = scenarioTimeout + 15*time.Second
)

// outcome is what every scenario prints: ok, or the error that stopped it.
type outcome struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

// scriptRun is a finished scenario.
type scriptRun struct {
	code   int    // exit status
	result []byte // the JSON line printed
}

// runScript runs slix/<script> against s with the accounts users and the
// extra arguments, and returns how it ended. slixmpp's debug log (the
// stanza trace) is added to the test's output if the test fails.
func runScript(t *testing.T, s *server, script string, users []string, extra ...string) scriptRun {
	t.Helper()
	logFile := filepath.Join(t.TempDir(), "slixmpp.log")
	tlsMode := "starttls"
	if !s.tls {
		tlsMode = "off"
	}
	args := []string{
		"-B", "-E", "-s", // no bytecode in the tree, no environment, no user site
		filepath.Join("slix", script),
		"--server", s.addr, "--domain", domain, "--tls", tlsMode, "--log", logFile,
		"--timeout", seconds(scenarioTimeout), "--step-timeout", seconds(stepTimeout),
	}
	args = append(append(args, users...), extra...)

	ctx, cancel := context.WithTimeout(t.Context(), killTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s: %v", strings.Join(append([]string{script}, extra...), " "), time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			trace, _ := os.ReadFile(logFile)
			t.Logf("%s stderr:\n%s\n%s slixmpp log:\n%s", script, stderr.String(), script, trace)
		}
	})
	run := scriptRun{result: lastLine(stdout.Bytes())}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		run.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", script, err)
	}
	require.NoError(t, ctx.Err(), "%s killed after %v", script, killTimeout)
	return run
}

// runOK runs a scenario that must succeed and decodes what it observed.
func runOK[T any](t *testing.T, s *server, script string, users []string, extra ...string) T {
	t.Helper()
	run := runScript(t, s, script, users, extra...)
	var o outcome
	require.NoError(t, json.Unmarshal(run.result, &o), "%s printed no JSON result (exit status %d): %q", script, run.code, run.result)
	require.True(t, o.OK && run.code == 0, "%s failed (exit status %d): %s", script, run.code, o.Error)
	var res T
	require.NoError(t, json.Unmarshal(run.result, &res))
	return res
}

// lastLine returns the last non-empty line of b.
func lastLine(b []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return lines[len(lines)-1]
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}
