// Command attack runs the resource attacks of docs/security.md against a
// memserver (started with -tls off) on loopback, and prints what it saw.
// It is the tool behind the before/after figures in docs/security.md; the
// go tests of the server check the same defences without timing anything.
//
//	go run ./examples/memserver/attack -mode memory -pid PID [-addr 127.0.0.1:5222]
//	go run ./examples/memserver/attack -mode guess [-addr ...] -user alice -password PW
//	go run ./examples/memserver/attack -mode component -addr 127.0.0.1:5347 -domain comp.localhost
//
// memory: -conns connections each send <auth …> and -depth nested <a>
// elements, then hold; the server's RSS (from /proc/PID/status) is sampled
// for -hold. With -sources N the connections come from N addresses
// 127.0.0.1 … 127.0.0.N, so a per-address cap does not hide the per-element
// limits.
//
// guess: -workers connections from 127.0.0.1 send wrong PLAIN passwords for
// -for; it counts the guesses the server checked (answered not-authorized)
// per second, while a correct login from 127.0.0.2 is timed every second.
//
// component: the same for the XEP-0114 handshake (wrong handshakes
// answered with not-authorized).
package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	mode := flag.String("mode", "memory", "memory, guess or component")
	addr := flag.String("addr", "127.0.0.1:5222", "server address (port of c2s, or of components)")
	pid := flag.Int("pid", 0, "memory: the server's process id, for its RSS")
	conns := flag.Int("conns", 100, "memory: connections")
	depth := flag.Int("depth", 85000, "memory: nested <a> elements after <auth>")
	text := flag.Int("text", 0, "memory: instead of nesting, this many bytes of base64 text in <auth>, never closed")
	login := flag.Bool("login", false, "memory: log in first (as -user, -password), then hold a <message> filling -tokens tokens and -text bytes")
	tokens := flag.Int("tokens", 8192, "memory with -login: tokens of the held message")
	sources := flag.Int("sources", 1, "memory: source addresses 127.0.0.1 … 127.0.0.N")
	hold := flag.Duration("hold", 10*time.Second, "memory: how long to hold the connections")
	workers := flag.Int("workers", 8, "guess, component: parallel connections from 127.0.0.1")
	dur := flag.Duration("for", 5*time.Second, "guess, component: attack duration")
	user := flag.String("user", "alice", "guess: account")
	password := flag.String("password", "", "guess: the account's correct password, for the login from 127.0.0.2")
	domain := flag.String("domain", "localhost", "XMPP domain (guess), or component domain (component)")
	flag.Parse()
	var err error
	switch *mode {
	case "memory":
		var auth func(net.Conn, *bufio.Reader) error
		if *login {
			auth = func(c net.Conn, r *bufio.Reader) error { return bindSession(c, r, *domain, *user, *password) }
		}
		err = memory(*addr, *pid, *conns, *depth, *text, *tokens, *sources, *hold, auth)
	case "guess":
		err = guess(*addr, *domain, *user, *password, *workers, *dur)
	case "component":
		err = componentGuess(*addr, *domain, *workers, *dur)
	default:
		err = fmt.Errorf("unknown mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "attack:", err)
		os.Exit(1)
	}
}

func clientHeader(domain string) string {
	return `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='` + domain + `' version='1.0'>`
}

func dialFrom(src, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	return d.Dial("tcp", addr)
}

// rss returns the resident set size of pid in bytes.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

func memory(addr string, pid, n, depth, text, tokens, sources int, hold time.Duration, auth func(net.Conn, *bufio.Reader) error) error {
	if pid == 0 {
		return fmt.Errorf("-pid is required")
	}
	before, err := rss(pid)
	if err != nil {
		return err
	}
	payload := clientHeader("localhost") + `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>`
	what := fmt.Sprintf("%d × <a>", depth)
	switch {
	case auth != nil:
		// Every token, and every byte in text, as BenchmarkHeldElement's
		// "mixed" shape.
		groups := (tokens - 2) / 3
		run := max((text-20)/groups-7, 1)
		payload = "<message>" + strings.Repeat("<a>"+strings.Repeat("x", run)+"</a>", groups)
		what = fmt.Sprintf("login, then a <message> of %d tokens", 2+3*groups)
	case text > 0:
		payload += strings.Repeat("A", text)
		what = fmt.Sprintf("%d bytes of text", text)
	default:
		payload += strings.Repeat("<a>", depth)
	}
	var closed, refused atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	errs := map[string]int{}
	var conns []net.Conn
	for i := range n {
		src := fmt.Sprintf("127.0.0.%d", 1+i%max(sources, 1))
		conn, err := dialFrom(src, addr)
		if err != nil {
			refused.Add(1)
			continue
		}
		defer conn.Close()
		if auth != nil {
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			if err := auth(conn, bufio.NewReader(conn)); err != nil {
				return fmt.Errorf("login %d: %w", i, err)
			}
			_ = conn.SetDeadline(time.Time{})
		}
		conns = append(conns, conn)
	}
	if auth != nil {
		// RSS with the sessions logged in, before they send.
		if before, err = rss(pid); err != nil {
			return err
		}
	}
	start := time.Now()
	for _, conn := range conns {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_ = conn.SetWriteDeadline(start.Add(hold))
			_, _ = io.WriteString(conn, payload)
		}()
		go func() {
			defer wg.Done()
			_ = conn.SetReadDeadline(start.Add(hold))
			got, _ := io.ReadAll(io.LimitReader(conn, 1<<16))
			if i := bytes.Index(got, []byte("<stream:error><")); i >= 0 {
				cond, _, _ := strings.Cut(string(got[i+len("<stream:error><"):]), " ")
				if _, text, ok := strings.Cut(string(got[i:]), "<text"); ok {
					_, text, _ = strings.Cut(text, ">")
					text, _, _ = strings.Cut(text, "<")
					cond += " (" + text + ")"
				}
				mu.Lock()
				errs[cond]++
				mu.Unlock()
				closed.Add(1)
			}
		}()
	}
	peak := before
	for time.Since(start) < hold {
		if r, err := rss(pid); err == nil && r > peak {
			peak = r
		}
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	fmt.Printf("memory attack: %d connections from %d address(es), <auth> + %s (%d bytes each)\n", n, sources, what, len(payload))
	fmt.Printf("  RSS before %.1f MB, peak while holding %.1f MB: growth %.1f MB\n", mb(before), mb(peak), mb(peak-before))
	fmt.Printf("  connections failed: %d; closed with a stream error: %d\n", refused.Load(), closed.Load())
	for cond, n := range errs {
		fmt.Printf("    %d × %s\n", n, cond)
	}
	return nil
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// exchange writes send and reads until one of the markers (or EOF), and
// returns what it read.
func exchange(conn net.Conn, r *bufio.Reader, send string, markers ...string) (string, error) {
	if send != "" {
		if _, err := io.WriteString(conn, send); err != nil {
			return "", err
		}
	}
	var got []byte
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		for _, m := range markers {
			if bytes.Contains(got, []byte(m)) {
				return string(got), nil
			}
		}
		if err != nil {
			return string(got), err
		}
	}
}

// bindSession logs in with PLAIN and binds a resource on conn.
func bindSession(conn net.Conn, r *bufio.Reader, domain, user, password string) error {
	cred := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
	for _, step := range []struct{ send, want string }{
		{clientHeader(domain), "</stream:features>"},
		{`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>` + cred + `</auth>`, "<success"},
		{clientHeader(domain), "</stream:features>"},
		{`<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>`, "</iq>"},
	} {
		got, err := exchange(conn, r, step.send, step.want, "</stream:stream>")
		if err != nil || !strings.Contains(got, step.want) {
			return fmt.Errorf("no %s: %q %v", step.want, got, err)
		}
	}
	return nil
}

// plainLogin opens a stream from src and tries one PLAIN login; it
// returns the server's answer to <auth/> (or to the stream header, when
// the server refuses the connection).
func plainLogin(src, addr, domain, user, password string) (string, error) {
	conn, err := dialFrom(src, addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	got, err := exchange(conn, r, clientHeader(domain), "</stream:features>", "</stream:stream>")
	if err != nil || !strings.Contains(got, "</stream:features>") {
		return got, err
	}
	cred := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
	return exchange(conn, r, `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>`+cred+`</auth>`, "</failure>", "</success>", "<success", "</stream:stream>")
}

func guess(addr, domain, user, password string, workers int, dur time.Duration) error {
	var checked, refused atomic.Int64
	stop := time.Now().Add(dur)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(stop); i++ {
				got, _ := plainLogin("127.0.0.1", addr, domain, user, fmt.Sprintf("wrong-%d-%d", w, i))
				if strings.Contains(got, "<not-authorized") {
					checked.Add(1)
				} else {
					refused.Add(1)
				}
			}
		}()
	}
	var worst time.Duration
	logins, failed := 0, 0
	for time.Now().Before(stop) {
		t0 := time.Now()
		got, err := plainLogin("127.0.0.2", addr, domain, user, password)
		took := time.Since(t0)
		logins++
		if err != nil || !strings.Contains(got, "<success") {
			failed++
		}
		worst = max(worst, took)
		time.Sleep(time.Second)
	}
	wg.Wait()
	fmt.Printf("guess attack: %d workers from 127.0.0.1 for %v\n", workers, dur)
	fmt.Printf("  guesses checked (not-authorized): %d = %.1f/s; attempts refused or throttled: %d\n", checked.Load(), float64(checked.Load())/dur.Seconds(), refused.Load())
	fmt.Printf("  correct logins from 127.0.0.2: %d, failed %d, slowest %v\n", logins, failed, worst.Round(time.Millisecond))
	return nil
}

func componentGuess(addr, domain string, workers int, dur time.Duration) error {
	var checked, refused atomic.Int64
	stop := time.Now().Add(dur)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				conn, err := dialFrom("127.0.0.1", addr)
				if err != nil {
					refused.Add(1)
					continue
				}
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				r := bufio.NewReader(conn)
				hdr := `<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='` + domain + `'>`
				got, err := exchange(conn, r, hdr, "id=")
				if err == nil && !strings.Contains(got, "<stream:error>") {
					got, _ = exchange(conn, r, "<handshake>0000000000000000000000000000000000000000</handshake>", "</stream:error>", "<handshake/>")
				}
				if strings.Contains(got, "<not-authorized") {
					checked.Add(1)
				} else {
					refused.Add(1)
				}
				conn.Close()
			}
		}()
	}
	wg.Wait()
	fmt.Printf("component handshake attack: %d workers from 127.0.0.1 for %v\n", workers, dur)
	fmt.Printf("  handshakes checked (not-authorized): %d = %.1f/s; refused or throttled: %d\n", checked.Load(), float64(checked.Load())/dur.Seconds(), refused.Load())
	return nil
}
