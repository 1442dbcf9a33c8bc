package main

import (
	"bufio"
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
	"github.com/mixpam/mixpam/internal/pgtest"
)

// childArgs, when set in the environment, makes the test binary run the
// server with these arguments (separated by the unit separator, U+001F) instead of the tests: the
// restart and crash tests start and kill real server processes that way.
const childArgs = "MIXPAM_MEMSERVER_ARGS"

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(childArgs); ok {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := run(ctx, strings.Split(args, "\x1f"), os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "memserver:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var passwords = map[string]string{"alice": "pw-alice", "bob": "pw-bob", "carol": "pw-carol"}

// process is a server running in a child process.
type process struct {
	cmd  *exec.Cmd
	srv  *testclient.Server
	done chan error
}

// startProcess starts the server on PostgreSQL at dsn, in a process of its
// own, and waits for its banner.
func startProcess(t *testing.T, dsn string) *process {
	t.Helper()
	args := []string{"-listen", "127.0.0.1:0", "-tls", "off", "-store", "postgres", "-pg", dsn}
	for _, u := range []string{"alice", "bob", "carol"} {
		args = append(args, "-user", u+":"+passwords[u])
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgs+"="+strings.Join(args, "\x1f"))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &process{cmd: cmd, done: make(chan error, 1)}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := regexp.MustCompile(`clients on (\S+)`).FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		p.done <- cmd.Wait()
	}()
	select {
	case a := <-addr:
		p.srv = testclient.Remote(a, "localhost", passwords)
	case err := <-p.done:
		t.Fatalf("server process ended before its banner: %v", err)
	case <-time.After(testclient.Timeout):
		t.Fatal("no banner from the server process")
	}
	return p
}

// stop ends the process with SIGTERM, as an operator would, and waits.
func (p *process) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.done:
		require.NoError(t, err, "server exit after SIGTERM")
		p.done <- err // for the cleanup
	case <-time.After(testclient.Timeout):
		t.Fatal("server did not stop after SIGTERM")
	}
}

// kill ends the process with SIGKILL (kill -9) and waits.
func (p *process) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Kill())
	err := <-p.done
	p.done <- err
}

// loginMIX logs name in with a MIX-capable client, waits for the server's
// disco#info query, which the client answers, then pings: afterwards the
// server knows the client is MIX capable (it applies the answer before the
// client's next stanza).
func loginMIX(t *testing.T, srv *testclient.Server, name string) *testclient.Client {
	t.Helper()
	c := srv.Login(t, name, testclient.RecordDisco(), testclient.MIXCapable(), testclient.Resource("mix"))
	c.ExpectCapsQuery(t)
	return c
}

const coven = "coven@mix.localhost"

// joinCoven has c join coven (creating it first when create is set).
func joinCoven(t *testing.T, c *testclient.Client, create bool) {
	t.Helper()
	if create {
		c.Send(t, `<iq type="set" id="create" to="mix.localhost"><create xmlns="urn:xmpp:mix:core:1" channel="coven"/></iq>`)
		require.Equal(t, "result", c.Expect(t, "create result", testclient.ByID("create")).Type)
	}
	c.Send(t, `<iq type="set" id="join"><client-join xmlns="urn:xmpp:mix:pam:2" channel="`+coven+`"><join xmlns="urn:xmpp:mix:core:1"><subscribe node="urn:xmpp:mix:nodes:messages"/><nick>`+c.JID.Localpart()+`</nick></join></client-join></iq>`)
	res := c.Expect(t, "client-join answer", testclient.ByID("join"))
	require.Equal(t, "result", res.Type, string(res.Raw))
}

var (
	stanzaIDRe = regexp.MustCompile(`<stanza-id xmlns="urn:xmpp:sid:0" by="[^"]*" id="([^"]+)"`)
	bodyRe     = regexp.MustCompile(`<body>([^<]*)</body>`)
)

// archived pages through c's whole archive (XEP-0313) and returns, per
// archive id, the body of the message.
func archived(t *testing.T, c *testclient.Client) map[string]string {
	t.Helper()
	out := make(map[string]string)
	after := ""
	for page := 0; ; page++ {
		require.Less(t, page, 1000, "paging did not end")
		qid := fmt.Sprintf("page%d", page)
		set := `<set xmlns="http://jabber.org/protocol/rsm"><max>250</max>`
		if after != "" {
			set += `<after>` + after + `</after>`
		}
		c.Send(t, `<iq type="set" id="`+qid+`"><query xmlns="urn:xmpp:mam:2" queryid="`+qid+`">`+set+`</set></query></iq>`)
		fin := c.Expect(t, "MAM fin", testclient.ByID(qid))
		require.Equal(t, "result", fin.Type, string(fin.Raw))
		results := c.TakeAll(testclient.Contains(packet.Message, `queryid="`+qid+`"`))
		for _, r := range results {
			id := regexp.MustCompile(`<result xmlns="urn:xmpp:mam:2" queryid="[^"]*" id="([^"]+)"`).FindSubmatch(r.Raw)
			require.NotNil(t, id, "result without an id: %s", r.Raw)
			require.NotContains(t, out, string(id[1]), "archive id %s twice", id[1])
			body := bodyRe.FindSubmatch(r.Raw)
			if body != nil {
				out[string(id[1])] = string(body[1])
			} else {
				out[string(id[1])] = ""
			}
			after = string(id[1])
		}
		if strings.Contains(string(fin.Raw), `complete="true"`) {
			return out
		}
		require.NotEmpty(t, results, "an incomplete MAM page without results")
	}
}

// TestRestartKeepsState stops and starts the server on PostgreSQL: the
// roster (a contact and the channel), the blocklist and the archive are
// there again, as clients see them.
func TestRestartKeepsState(t *testing.T) {
	dsn := pgtest.Schema(t)
	p := startProcess(t, dsn)
	alice := loginMIX(t, p.srv, "alice")
	bob := loginMIX(t, p.srv, "bob")
	joinCoven(t, alice, true)
	joinCoven(t, bob, false)
	alice.Send(t, `<iq type="set" id="r1"><query xmlns="jabber:iq:roster"><item jid="carol@localhost" name="Carol"><group>Friends</group></item></query></iq>`)
	require.Equal(t, "result", alice.Expect(t, "roster set result", testclient.ByID("r1")).Type)
	alice.Send(t, `<iq type="set" id="b1"><block xmlns="urn:xmpp:blocking"><item jid="spammer@example.org"/></block></iq>`)
	require.Equal(t, "result", alice.Expect(t, "block result", testclient.ByID("b1")).Type)
	bob.Send(t, `<message type="groupchat" to="`+coven+`" id="m1"><body>Harpier cries</body></message>`)
	msg := alice.Expect(t, "groupchat", testclient.Contains(packet.Message, "Harpier cries"))
	sid := stanzaIDRe.FindSubmatch(msg.Raw)
	require.NotNil(t, sid, "groupchat without a stanza-id: %s", msg.Raw)
	alice.Close(t)
	bob.Close(t)
	p.stop(t)

	p = startProcess(t, dsn)
	alice = p.srv.Login(t, "alice")
	alice.Send(t, `<iq type="get" id="r2"><query xmlns="jabber:iq:roster"/></iq>`)
	roster := string(alice.Expect(t, "roster", testclient.ByID("r2")).Raw)
	require.Contains(t, roster, `jid="carol@localhost" name="Carol"`)
	require.Contains(t, roster, `<group>Friends</group>`)
	require.Contains(t, roster, `jid="`+coven+`"`)
	alice.Send(t, `<iq type="get" id="b2"><blocklist xmlns="urn:xmpp:blocking"/></iq>`)
	require.Contains(t, string(alice.Expect(t, "blocklist", testclient.ByID("b2")).Raw), `jid="spammer@example.org"`)
	require.Equal(t, map[string]string{string(sid[1]): "Harpier cries"}, archived(t, alice))
}

// Flood size of the crash test: the server is killed once the first
// killAfter messages reached a recipient.
const (
	floodSize = 400
	killAfter = 60
)

// TestCrashKeepsAcknowledgedMessages kills the server (kill -9) during a
// groupchat flood and restarts it: every message a recipient received (the
// fan-out delivers only after the archive append returned) is in that
// recipient's archive exactly once, under the stanza-id it was delivered
// with.
func TestCrashKeepsAcknowledgedMessages(t *testing.T) {
	dsn := pgtest.Schema(t)
	p := startProcess(t, dsn)
	alice := loginMIX(t, p.srv, "alice")
	bob := loginMIX(t, p.srv, "bob")
	carol := loginMIX(t, p.srv, "carol")
	joinCoven(t, alice, true)
	joinCoven(t, bob, false)
	joinCoven(t, carol, false)

	go func() {
		for i := range floodSize {
			msg := fmt.Sprintf(`<message type="groupchat" to="%s" id="f%d"><body>flood %d</body></message>`, coven, i, i)
			if carol.Session.Send(context.Background(), xml.NewDecoder(strings.NewReader(msg))) != nil {
				return // the server is gone
			}
		}
	}()
	last := alice.Expect(t, "flood message", testclient.Contains(packet.Message, fmt.Sprintf("<body>flood %d</body>", killAfter-1)))
	p.kill(t)

	p = startProcess(t, dsn)
	for _, c := range []*testclient.Client{alice, bob} {
		_ = c.Ended(t)
		msgs := c.TakeAll(testclient.Contains(packet.Message, "<body>flood "))
		if c == alice {
			msgs = append(msgs, last)
		}
		received := make(map[string]string) // stanza-id → body
		for _, m := range msgs {
			sid := stanzaIDRe.FindSubmatch(m.Raw)
			require.NotNil(t, sid, "groupchat without a stanza-id: %s", m.Raw)
			received[string(sid[1])] = string(bodyRe.FindSubmatch(m.Raw)[1])
		}
		name := c.JID.Localpart()
		t.Logf("%s received %d of %d flood messages before the kill", name, len(received), floodSize)

		arch := archived(t, p.srv.Login(t, name))
		times := make(map[string]int) // body → archived copies
		for _, body := range arch {
			times[body]++
		}
		for sid, body := range received {
			require.Equal(t, body, arch[sid], "%s: message %q received with stanza-id %s is not archived under it", name, body, sid)
			require.Equal(t, 1, times[body], "%s: message %q archived %d times", name, body, times[body])
		}
		for body, n := range times {
			require.Equal(t, 1, n, "%s: message %q archived %d times", name, body, n)
		}
	}
}
