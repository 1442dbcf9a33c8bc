// Command quotaprobe runs two of the per-account attacks of issue 12 against
// a running memserver (started with -tls off) on loopback, as an outsider
// would with raw sockets, and prints what the server accepted and its memory
// (VmRSS and the peak VmHWM from /proc/PID/status) before and after:
//
//   - roster: one account stores -items roster items of about -item-bytes
//     each, then asks for its roster once;
//   - resources: one account binds -resources MIX-capable resources that
//     never read, joins a channel, and another account floods the channel
//     with -messages groupchat messages of -message-bytes each.
//
// Usage:
//
//	go run ./examples/memserver -tls off -user alice:pw -user bob:pw &
//	go run ./examples/memserver/quotaprobe -pid $! -attack roster
//
// It is a measuring tool, bounded in time by -timeout; its figures are in
// docs/security.md.
package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"mellium.im/xmpp/disco/info"

	"github.com/mixpam/mixpam/disco"
)

type config struct {
	addr, domain, mix  string
	user, other, pw    string
	attack             string
	pid                int
	items, itemBytes   int
	resources          int
	messages, msgBytes int
	timeout            time.Duration
}

func main() {
	var c config
	flag.StringVar(&c.addr, "addr", "127.0.0.1:5222", "memserver client address")
	flag.StringVar(&c.domain, "domain", "localhost", "XMPP domain")
	flag.StringVar(&c.mix, "mix", "mix.localhost", "MIX service domain")
	flag.StringVar(&c.user, "user", "alice", "attacking account")
	flag.StringVar(&c.other, "other", "bob", "second account (the flood's sender)")
	flag.StringVar(&c.pw, "password", "pw", "password of both accounts")
	flag.StringVar(&c.attack, "attack", "roster", "roster or resources")
	flag.IntVar(&c.pid, "pid", 0, "server process id, for its memory figures")
	flag.IntVar(&c.items, "items", 5000, "roster items to add")
	flag.IntVar(&c.itemBytes, "item-bytes", 51000, "approximate size of one roster item")
	flag.IntVar(&c.resources, "resources", 200, "resources to bind")
	flag.IntVar(&c.messages, "messages", 100, "groupchat messages to send")
	flag.IntVar(&c.msgBytes, "message-bytes", 100000, "size of one message body")
	flag.DurationVar(&c.timeout, "timeout", 2*time.Minute, "bound on the whole run")
	flag.Parse()
	time.AfterFunc(c.timeout, func() { fmt.Fprintln(os.Stderr, "quotaprobe: timeout"); os.Exit(1) })
	fmt.Printf("server before: %s\n", memory(c.pid))
	var err error
	switch c.attack {
	case "roster":
		err = rosterAttack(c)
	case "resources":
		err = resourceFlood(c)
	default:
		err = fmt.Errorf("unknown attack %q", c.attack)
	}
	fmt.Printf("server after:  %s\n", memory(c.pid))
	if err != nil {
		fmt.Fprintln(os.Stderr, "quotaprobe:", err)
		os.Exit(1)
	}
}

// memory returns VmRSS and VmHWM of process pid.
func memory(pid int) string {
	if pid == 0 {
		return "(no -pid)"
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS") || strings.HasPrefix(l, "VmHWM") {
			out = append(out, strings.Join(strings.Fields(l), " "))
		}
	}
	return strings.Join(out, ", ")
}

// rosterAttack stores c.items large roster items, then gets the roster.
func rosterAttack(c config) error {
	s, err := login(c, c.user, "roster")
	if err != nil {
		return err
	}
	defer s.conn.Close()
	var answers, refused atomic.Int64
	done := make(chan struct{})
	var getReply []byte
	go func() {
		defer close(done)
		getReply = s.drain(func(chunk string, tail int) {
			answers.Add(int64(count(chunk, tail, `"rs-`)))
			refused.Add(int64(count(chunk, tail, `type="error"`)))
		}, `id="rg"`)
	}()
	groups := max(0, (c.itemBytes-1000)/1023)
	var item strings.Builder
	for g := range groups {
		fmt.Fprintf(&item, "<group>%04d%s</group>", g, strings.Repeat("g", 1019))
	}
	name := strings.Repeat("n", 1000)
	start := time.Now()
	for i := range c.items {
		fmt.Fprintf(s.conn, `<iq type="set" id="rs-%d"><query xmlns="jabber:iq:roster"><item jid="c%d@example.net" name="%s">%s</item></query></iq>`, i, i, name, item.String())
	}
	for answers.Load() < int64(c.items) {
		select {
		case <-done:
			return fmt.Errorf("stream ended after %d answers", answers.Load())
		case <-time.After(10 * time.Millisecond):
		}
	}
	fmt.Printf("roster sets: %d sent (%d bytes each), %d refused, in %s\n", c.items, item.Len()+len(name), refused.Load(), time.Since(start).Round(time.Millisecond))
	fmt.Printf("server after the sets: %s\n", memory(c.pid))
	fmt.Fprint(s.conn, `<iq type="get" id="rg"><query xmlns="jabber:iq:roster"/></iq>`)
	<-done
	fmt.Printf("roster get: reply or stream end of %d bytes: %.200s\n", len(getReply), getReply)
	return nil
}

// resourceFlood binds c.resources MIX-capable resources of c.user that never
// read, and floods a channel they joined.
func resourceFlood(c config) error {
	// A reading client makes the caps ver known as MIX capable, creates
	// and joins the channel.
	member, err := login(c, c.user, "real")
	if err != nil {
		return err
	}
	defer member.conn.Close()
	body, ver := capsInfo()
	caps := `<c xmlns="http://jabber.org/protocol/caps" hash="sha-1" node="https://example.org/probe" ver="` + ver + `"/>`
	fmt.Fprint(member.conn, `<presence>`+caps+`</presence>`)
	q, err := member.until("http://jabber.org/protocol/disco#info")
	if err != nil {
		return err
	}
	id := attrBefore(q, "id")
	fmt.Fprintf(member.conn, `<iq type="result" id="%s" to="%s"><query xmlns="http://jabber.org/protocol/disco#info" node="https://example.org/probe#%s">%s</query></iq>`, id, c.domain, ver, body)
	channel := "flood@" + c.mix
	fmt.Fprintf(member.conn, `<iq type="set" id="cr" to="%s"><create xmlns="urn:xmpp:mix:core:1" channel="flood"/></iq>`, c.mix)
	if _, err := member.until(`"cr"`); err != nil {
		return err
	}
	join := `<iq type="set" id="jn"><client-join xmlns="urn:xmpp:mix:pam:2" channel="` + channel + `"><join xmlns="urn:xmpp:mix:core:1"><subscribe node="urn:xmpp:mix:nodes:messages"/><nick>NICK</nick></join></client-join></iq>`
	fmt.Fprint(member.conn, strings.ReplaceAll(join, "NICK", c.user))
	if _, err := member.until(`"jn"`); err != nil {
		return err
	}
	answer, err := member.until("</iq>")
	if err != nil {
		return err
	}
	fmt.Printf("join: %.200s\n", answer)
	go member.drain(nil, "")

	bound, refused := 0, 0
	var firstErr error
	var idle []*session
	for i := range c.resources {
		s, err := login(c, c.user, fmt.Sprintf("flood-%d", i))
		if err != nil {
			refused++
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		bound++
		idle = append(idle, s)
		fmt.Fprint(s.conn, `<presence>`+caps+`</presence>`)
	}
	defer func() {
		for _, s := range idle {
			s.conn.Close()
		}
	}()
	fmt.Printf("resources: %d bound, %d refused (first refusal: %v)\n", bound, refused, firstErr)
	// The sessions' capability is resolved from the cache, asynchronously.
	time.Sleep(time.Second)
	fmt.Printf("server with the resources bound: %s\n", memory(c.pid))

	sender, err := login(c, c.other, "sender")
	if err != nil {
		return err
	}
	defer sender.conn.Close()
	fmt.Fprint(sender.conn, strings.NewReplacer(`"jn"`, `"jn2"`, "NICK", c.other).Replace(join))
	if _, err := sender.until(`"jn2"`); err != nil {
		return err
	}
	// MIX capable (from the cache) so that the channel's copies reach it.
	fmt.Fprint(sender.conn, `<presence>`+caps+`</presence>`)
	time.Sleep(500 * time.Millisecond)
	var echoes atomic.Int64
	var sample atomic.Value
	go sender.drain(func(chunk string, tail int) {
		echoes.Add(int64(count(chunk, tail, "</message>")))
		if sample.Load() == nil {
			sample.Store(fmt.Sprintf("%.300s", chunk))
		}
	}, "")
	text := strings.Repeat("x", c.msgBytes)
	start := time.Now()
	for i := range c.messages {
		fmt.Fprintf(sender.conn, `<message type="groupchat" to="%s" id="m%d"><body>%s</body></message>`, channel, i, text)
	}
	// The channel reflects each message to the sender's account (its
	// archive) after fanning it out: wait for the server to catch up.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && echoes.Load() < int64(c.messages) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	fmt.Printf("flood: %d messages of %d bytes sent in %s; the sender got %d back, starting %v\n", c.messages, c.msgBytes, time.Since(start).Round(time.Millisecond), echoes.Load(), sample.Load())
	return nil
}

// capsInfo returns a MIX client's disco#info children and their sha-1 ver.
func capsInfo() (string, string) {
	inf := disco.Info{
		Identities: []info.Identity{{Category: "client", Type: "pc", Name: "probe"}},
		Features:   []string{"http://jabber.org/protocol/disco#info", "urn:xmpp:mix:core:1"},
	}
	ver, err := disco.VerificationString(inf, "sha-1")
	if err != nil {
		panic(err)
	}
	return `<identity category="client" type="pc" name="probe"/><feature var="http://jabber.org/protocol/disco#info"/><feature var="urn:xmpp:mix:core:1"/>`, ver
}

// session is a raw client stream.
type session struct {
	conn net.Conn
	buf  []byte
}

// login authenticates user with PLAIN and binds resource.
func login(c config, user, resource string) (*session, error) {
	conn, err := net.DialTimeout("tcp", c.addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	s := &session{conn: conn}
	header := `<?xml version="1.0"?><stream:stream to="` + c.domain + `" xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams" version="1.0">`
	steps := []struct{ send, want string }{
		{header, "</stream:features>"},
		{`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">` + base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+c.pw)) + `</auth>`, "<success"},
		{header, "</stream:features>"},
		{`<iq type="set" id="bind"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>` + resource + `</resource></bind></iq>`, "</iq>"},
	}
	for _, st := range steps {
		if _, err := io.WriteString(conn, st.send); err != nil {
			conn.Close()
			return nil, err
		}
		got, err := s.until(st.want)
		if err != nil {
			conn.Close()
			return nil, err
		}
		if st.want == "</iq>" && strings.Contains(got, `type="error"`) {
			conn.Close()
			return nil, fmt.Errorf("bind refused: %.300s", got)
		}
	}
	return s, nil
}

// until reads until want arrived and returns what was read up to it.
func (s *session) until(want string) (string, error) {
	_ = s.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	defer s.conn.SetReadDeadline(time.Time{})
	chunk := make([]byte, 64<<10)
	for {
		if i := bytes.Index(s.buf, []byte(want)); i >= 0 {
			end := i + len(want)
			got := string(s.buf[:end])
			s.buf = s.buf[end:]
			return got, nil
		}
		if bytes.Contains(s.buf, []byte("</stream:stream>")) {
			return "", fmt.Errorf("stream ended: %.300s", s.buf)
		}
		n, err := s.conn.Read(chunk)
		s.buf = append(s.buf, chunk[:n]...)
		if err != nil {
			return "", fmt.Errorf("waiting for %s: %w (read %.300s)", want, err, s.buf)
		}
	}
}

// overlap is how many bytes of the previous chunk drain passes again.
const overlap = 32

// count counts the occurrences of marker in chunk that end after its first
// tail bytes (those were counted with the previous chunk).
func count(chunk string, tail int, marker string) int {
	return strings.Count(chunk, marker) - strings.Count(chunk[:tail], marker)
}

// drain reads until the stream ends, calling seen with each chunk read,
// preceded by the last bytes of the previous one (tail of them), so that
// markers split between reads are seen. Once mark has been seen, it keeps
// the bytes read from there and returns them at the first </iq> or end of
// the stream.
func (s *session) drain(seen func(chunk string, tail int), mark string) []byte {
	chunk := make([]byte, 256<<10)
	var kept []byte
	var prev string
	pending := s.buf
	s.buf = nil
	for {
		if seen != nil && len(pending) > 0 {
			seen(prev+string(pending), len(prev))
			all := prev + string(pending)
			prev = all[max(0, len(all)-overlap):]
		}
		if mark != "" {
			if kept == nil {
				if i := bytes.Index(pending, []byte(mark)); i >= 0 {
					kept = append([]byte{}, pending[i:]...)
				}
			} else {
				kept = append(kept, pending...)
			}
			if kept != nil && (bytes.Contains(kept, []byte("</iq>")) || bytes.Contains(kept, []byte("</stream:stream>"))) {
				return kept
			}
		}
		n, err := s.conn.Read(chunk)
		pending = chunk[:n]
		if err != nil {
			if errors.Is(err, io.EOF) || n == 0 {
				return append(kept, []byte(" [stream closed: "+err.Error()+"]")...)
			}
		}
	}
}

// attrBefore returns the value of the last attr="…" in s.
func attrBefore(s, attr string) string {
	i := strings.LastIndex(s, attr+`="`)
	if i < 0 {
		return ""
	}
	rest := s[i+len(attr)+2:]
	return rest[:strings.IndexByte(rest, '"')]
}
