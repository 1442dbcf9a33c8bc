//go:build interop

package interop

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/examples/internal/syncbuf"
)

const (
	// python is Debian's interpreter, which python3-slixmpp installs into.
	python = "/usr/bin/python3"
	// slixDir holds the memserver's scenarios, which these tests reuse.
	slixDir = "../../memserver/interop/slix"
	// domain and mixDomain are the server's and the MIX service's domains.
	domain    = "localhost"
	mixDomain = "mix." + domain
	// stepTimeout bounds each wait in a scenario, scenarioTimeout all of
	// it; a script still running after killTimeout is killed.
	stepTimeout     = 10 * time.Second
	scenarioTimeout = 45 * time.Second
	killTimeout     = scenarioTimeout + 15*time.Second
	// startTimeout bounds a program's start, stopTimeout its stop.
	startTimeout = 30 * time.Second
	stopTimeout  = 15 * time.Second
)

// binaries are the programs built by TestMain.
var serverBinary, componentBinary string

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, python, "-c", "import slixmpp").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "interop: %s cannot import slixmpp (apt-get install -y python3-slixmpp): %v\n%s", python, err, out)
		return 1
	}
	dir, err := os.MkdirTemp("", "melliumserver-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	serverBinary, componentBinary = filepath.Join(dir, "melliumserver"), filepath.Join(dir, "mixcomponent")
	for bin, pkg := range map[string]string{serverBinary: "../", componentBinary: "../../memserver/mixcomponent"} {
		args := []string{"build", "-o", bin}
		if raceBuild {
			args = append(args, "-race")
		}
		if out, err := exec.CommandContext(ctx, "go", append(args, pkg)...).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "interop: building %s: %v\n%s", pkg, err, out)
			return 1
		}
	}
	return m.Run()
}

// server is a running melliumserver with the MIX service connected.
type server struct {
	addr      string
	passwords map[string]string
}

var (
	clientsLine   = regexp.MustCompile(`clients on (\S+)`)
	componentLine = regexp.MustCompile(`components \(XEP-0114\) on (\S+)`)
)

// startServer starts melliumserver with alice and bob, then the MIX
// service as its component, and stops both when the test ends, requiring
// a clean exit (status 66 is a data race).
func startServer(t *testing.T) *server {
	t.Helper()
	s := &server{passwords: map[string]string{}}
	secret := rand.Text()
	args := []string{"-listen", "127.0.0.1:0", "-component-listen", "127.0.0.1:0", "-component", mixDomain + "=" + secret, "-debug"}
	for _, name := range []string{"alice", "bob"} {
		s.passwords[name] = rand.Text()
		args = append(args, "-user", name+":"+s.passwords[name])
	}
	lines := start(t, "melliumserver", serverBinary, args...)
	s.addr = expectLine(t, lines, clientsLine)
	compAddr := expectLine(t, lines, componentLine)
	mix := start(t, "mixcomponent", componentBinary, "-server", compAddr, "-domain", mixDomain, "-secret", secret)
	expectLine(t, mix, regexp.MustCompile(`(connected) to`))
	return s
}

// start runs a program, sends its stdout lines on the channel returned,
// and stops it with SIGINT when the test ends; its stderr is logged if
// the test fails.
func start(t *testing.T, name, bin string, args ...string) <-chan string {
	t.Helper()
	var log syncbuf.Buffer
	stdout, w, err := os.Pipe()
	require.NoError(t, err)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = w, &log
	require.NoError(t, cmd.Start())
	_ = w.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	lines := make(chan string, 16)
	go func() {
		defer stdout.Close()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			require.NoError(t, err, "%s did not exit cleanly (66: data race)", name)
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("%s did not stop within %v of SIGINT", name, stopTimeout)
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", name, log.String())
		}
	})
	return lines
}

// expectLine waits for a line matching re and returns its first group.
func expectLine(t *testing.T, lines <-chan string, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.After(startTimeout)
	for {
		select {
		case l := <-lines:
			if m := re.FindStringSubmatch(l); m != nil {
				return m[1]
			}
		case <-deadline:
			t.Fatalf("no line matching %v within %v", re, startTimeout)
		}
	}
}

// run runs slix/<script> against s as alice and bob, requires it to
// succeed and decodes what it observed into a T.
func run[T any](t *testing.T, s *server, script string) T {
	t.Helper()
	logFile := filepath.Join(t.TempDir(), "slixmpp.log")
	args := []string{"-B", "-E", "-s", filepath.Join(slixDir, script),
		"--server", s.addr, "--domain", domain, "--mix", mixDomain, "--tls", "starttls", "--log", logFile,
		"--timeout", strconv.Itoa(int(scenarioTimeout.Seconds())), "--step-timeout", strconv.Itoa(int(stepTimeout.Seconds()))}
	for _, name := range []string{"alice", "bob"} {
		args = append(args, "--user", name+":"+s.passwords[name])
	}
	ctx, cancel := context.WithTimeout(t.Context(), killTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Stdout, cmd.Stderr, cmd.WaitDelay = &stdout, &stderr, 5*time.Second
	err := cmd.Run()
	t.Cleanup(func() {
		if t.Failed() {
			trace, _ := os.ReadFile(logFile)
			t.Logf("%s stderr:\n%s\nslixmpp log:\n%s", script, stderr.String(), trace)
		}
	})
	lines := bytes.Split(bytes.TrimSpace(stdout.Bytes()), []byte("\n"))
	var o struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	require.NoError(t, json.Unmarshal(lines[len(lines)-1], &o), "%s printed no result (%v): %q", script, err, stdout.String())
	require.True(t, o.OK && err == nil, "%s failed (%v): %s", script, err, o.Error)
	var res T
	require.NoError(t, json.Unmarshal(lines[len(lines)-1], &res))
	return res
}
