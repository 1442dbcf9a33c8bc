package mixload

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"mellium.im/sasl"
)

// TLS modes (Config.TLS).
const (
	TLSRequired = "starttls" // STARTTLS, refused if the server does not offer it
	TLSOff      = "off"      // plain TCP, STARTTLS ignored
	TLSAuto     = "auto"     // STARTTLS when offered
)

// SASL choices (Config.SASL).
const (
	SASLScram = "scram" // SCRAM-SHA-256, else SCRAM-SHA-1
	SASLPlain = "plain" // PLAIN
	SASLAuto  = "auto"  // SCRAM when offered, else PLAIN
)

// Namespaces the client speaks.
const (
	nsTLS      = "urn:ietf:params:xml:ns:xmpp-tls"
	nsSASL     = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind     = "urn:ietf:params:xml:ns:xmpp-bind"
	nsDiscoI   = "http://jabber.org/protocol/disco#info"
	nsMIXCore  = "urn:xmpp:mix:core:1"
	nsMIXPAM   = "urn:xmpp:mix:pam:2"
	nsRoster   = "jabber:iq:roster"
	nsPing     = "urn:xmpp:ping"
	nsStanzas  = "urn:ietf:params:xml:ns:xmpp-stanzas"
	nodeMsgs   = "urn:xmpp:mix:nodes:messages"
	streamOpen = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0' to='%s'>`
)

// dialConfig says how one resource logs in.
type dialConfig struct {
	addr, domain     string
	user, password   string
	resource         string
	tls              string
	tlsConfig        *tls.Config
	sasl             string
	onMessage        func(el []byte, at time.Duration) // called on the read goroutine
	trace            func(jid string, el []byte)       // nil, or shown every stanza received
	clock            func() time.Duration
	negotiateTimeout time.Duration
}

// conn is one logged-in resource: a lean XMPP client that answers what a
// MIX-capable client must answer (disco#info, roster pushes, pings) and
// hands every message to onMessage.
type conn struct {
	jid  string // bound full JID
	bare string
	nc   net.Conn
	sp   *splitter
	cfg  *dialConfig

	wmu sync.Mutex
	w   *bufio.Writer

	pmu     sync.Mutex
	pending map[string]chan []byte
	ids     atomic.Uint64

	done chan struct{} // closed when the read loop ends
	err  error         // why it ended, set before done is closed
}

// dial connects and negotiates the stream up to a bound resource.
func dial(ctx context.Context, cfg *dialConfig) (*conn, error) {
	nc, err := (&net.Dialer{}).DialContext(ctx, "tcp", cfg.addr)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(cfg.negotiateTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = nc.SetDeadline(deadline)
	c := &conn{nc: nc, cfg: cfg, pending: make(map[string]chan []byte), done: make(chan struct{})}
	c.reset(nc)
	if err := c.negotiate(); err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("log in as %s: %w", cfg.user, err)
	}
	_ = c.nc.SetDeadline(time.Time{})
	go c.readLoop()
	return c, nil
}

func (c *conn) reset(nc net.Conn) {
	c.nc = nc
	c.sp = newSplitter(nc)
	c.w = bufio.NewWriterSize(nc, 8<<10)
}

func (c *conn) write(s string) error {
	if _, err := c.w.WriteString(s); err != nil {
		return err
	}
	return c.w.Flush()
}

// restart opens a new stream and returns its features.
func (c *conn) restart() ([]byte, error) {
	if err := c.write(fmt.Sprintf(streamOpen, c.cfg.domain)); err != nil {
		return nil, err
	}
	if err := c.sp.header(); err != nil {
		return nil, err
	}
	el, err := c.sp.next()
	if err != nil {
		return nil, err
	}
	if string(name(el)) != "stream:features" && !bytes.HasSuffix(name(el), []byte("features")) {
		return nil, fmt.Errorf("expected stream features, got %.200s", el)
	}
	return bytes.Clone(el), nil
}

func (c *conn) negotiate() error {
	secure, authed := false, false
	for {
		features, err := c.restart()
		if err != nil {
			return err
		}
		offersTLS := bytes.Contains(features, []byte("<starttls"))
		switch {
		case !secure && offersTLS && c.cfg.tls != TLSOff:
			if err := c.startTLS(); err != nil {
				return err
			}
			secure = true
			continue
		case !secure && c.cfg.tls == TLSRequired:
			return errors.New("the server does not offer STARTTLS (use -tls off or auto)")
		case !authed:
			if err := c.authenticate(features); err != nil {
				return err
			}
			authed = true
			continue
		}
		return c.bind(features)
	}
}

func (c *conn) startTLS() error {
	if err := c.write(`<starttls xmlns='` + nsTLS + `'/>`); err != nil {
		return err
	}
	el, err := c.sp.next()
	if err != nil {
		return err
	}
	if string(name(el)) != "proceed" || c.sp.buffered() {
		return fmt.Errorf("STARTTLS refused: %.200s", el)
	}
	tc := tls.Client(c.nc, c.cfg.tlsConfig)
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	c.reset(tc)
	return nil
}

// mechanisms lists the SASL mechanisms in a features element.
func mechanisms(features []byte) []string {
	var out []string
	for rest := features; ; {
		i := bytes.Index(rest, []byte("<mechanism>"))
		if i < 0 {
			return out
		}
		rest = rest[i+len("<mechanism>"):]
		j := bytes.IndexByte(rest, '<')
		if j < 0 {
			return out
		}
		out = append(out, string(bytes.TrimSpace(rest[:j])))
		rest = rest[j:]
	}
}

// pickMechanism chooses the SASL mechanism the configuration asks for
// among those offered.
func pickMechanism(choice string, offered []string) (sasl.Mechanism, error) {
	has := func(n string) bool {
		for _, o := range offered {
			if o == n {
				return true
			}
		}
		return false
	}
	if choice != SASLPlain {
		switch {
		case has("SCRAM-SHA-256"):
			return sasl.ScramSha256, nil
		case has("SCRAM-SHA-1"):
			return sasl.ScramSha1, nil
		}
	}
	if choice != SASLScram && has("PLAIN") {
		return sasl.Plain, nil
	}
	return sasl.Mechanism{}, fmt.Errorf("no usable SASL mechanism for %q among %v", choice, offered)
}

func (c *conn) authenticate(features []byte) error {
	mech, err := pickMechanism(c.cfg.sasl, mechanisms(features))
	if err != nil {
		return err
	}
	client := sasl.NewClient(mech, sasl.Credentials(func() ([]byte, []byte, []byte) {
		return []byte(c.cfg.user), []byte(c.cfg.password), nil
	}))
	_, resp, err := client.Step(nil)
	if err != nil {
		return err
	}
	if err := c.write(`<auth xmlns='` + nsSASL + `' mechanism='` + mech.Name + `'>` + encode64(resp) + `</auth>`); err != nil {
		return err
	}
	for {
		el, err := c.sp.next()
		if err != nil {
			return err
		}
		data, _ := text(el, string(name(el)))
		payload, derr := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data)))
		switch string(name(el)) {
		case "challenge":
			if derr != nil {
				return fmt.Errorf("SASL challenge: %w", derr)
			}
			_, resp, err := client.Step(payload)
			if err != nil {
				return fmt.Errorf("SASL %s: %w", mech.Name, err)
			}
			if err := c.write(`<response xmlns='` + nsSASL + `'>` + encode64(resp) + `</response>`); err != nil {
				return err
			}
		case "success":
			if len(payload) > 0 && derr == nil {
				// SCRAM's server-final message: check the server's signature.
				if _, _, err := client.Step(payload); err != nil {
					return fmt.Errorf("SASL %s: server signature: %w", mech.Name, err)
				}
			}
			return nil
		default:
			return fmt.Errorf("SASL %s failed: %.300s", mech.Name, el)
		}
	}
}

func encode64(b []byte) string {
	if len(b) == 0 {
		return "="
	}
	return base64.StdEncoding.EncodeToString(b)
}

func (c *conn) bind(features []byte) error {
	if !bytes.Contains(features, []byte(nsBind)) {
		return errors.New("the server offers no resource binding")
	}
	if err := c.write(`<iq type='set' id='bind'><bind xmlns='` + nsBind + `'><resource>` + c.cfg.resource + `</resource></bind></iq>`); err != nil {
		return err
	}
	for {
		el, err := c.sp.next()
		if err != nil {
			return err
		}
		if id, _ := attr(el, "id"); string(name(el)) != "iq" || string(id) != "bind" {
			continue
		}
		if typ, _ := attr(el, "type"); string(typ) != "result" {
			return fmt.Errorf("bind failed: %.300s", el)
		}
		j, ok := text(el, "jid")
		if !ok || len(j) == 0 {
			return fmt.Errorf("bind result without a JID: %.300s", el)
		}
		bare, _, _ := bytes.Cut(j, []byte("/"))
		c.jid, c.bare = string(j), string(bare)
		return nil
	}
}

// readLoop reads stanzas until the stream ends.
func (c *conn) readLoop() {
	var err error
	for {
		var el []byte
		el, err = c.sp.next()
		if err != nil {
			break
		}
		at := c.cfg.clock()
		if c.cfg.trace != nil {
			c.cfg.trace(c.jid, el)
		}
		switch string(name(el)) {
		case "message":
			c.cfg.onMessage(el, at)
		case "iq":
			err = c.iq(el)
		case "stream:error":
			err = fmt.Errorf("stream error: %.300s", el)
		}
		if err != nil {
			break
		}
	}
	c.err = err
	close(c.done)
	c.pmu.Lock()
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
	c.pmu.Unlock()
}

// iq dispatches an answer to its request or answers a request.
func (c *conn) iq(el []byte) error {
	typ, _ := attr(el, "type")
	id, _ := attr(el, "id")
	switch string(typ) {
	case "result", "error":
		c.pmu.Lock()
		ch, ok := c.pending[string(id)]
		delete(c.pending, string(id))
		c.pmu.Unlock()
		if ok {
			ch <- bytes.Clone(el)
		}
		return nil
	case "get", "set":
	default:
		return nil
	}
	from, hasFrom := attr(el, "from")
	to := ""
	if hasFrom {
		to = ` to=` + quote(from)
	}
	head := `<iq type='result' id=` + quote(id) + to
	switch {
	case bytes.Contains(el, []byte(nsDiscoI)) && string(typ) == "get":
		node := ""
		if i := bytes.Index(el, []byte("<query")); i >= 0 {
			if n, ok := attr(el[i:], "node"); ok {
				node = ` node=` + quote(n)
			}
		}
		return c.send(head + `><query xmlns='` + nsDiscoI + `'` + node + `><identity category='client' type='bot' name='mixload'/><feature var='` + nsDiscoI + `'/><feature var='` + nsMIXCore + `'/><feature var='` + nsPing + `'/></query></iq>`)
	case bytes.Contains(el, []byte(nsRoster)) && string(typ) == "set", bytes.Contains(el, []byte(nsPing)):
		return c.send(head + `/>`)
	}
	return c.send(`<iq type='error' id=` + quote(id) + to + `><error type='cancel'><service-unavailable xmlns='` + nsStanzas + `'/></error></iq>`)
}

// quote returns v, raw as it came, as an attribute value in quotes that it
// does not contain.
func quote(v []byte) string {
	if bytes.IndexByte(v, '\'') >= 0 {
		return `"` + string(v) + `"`
	}
	return `'` + string(v) + `'`
}

// send writes one stanza.
func (c *conn) send(s string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := c.w.WriteString(s); err != nil {
		return err
	}
	return c.w.Flush()
}

// request sends an IQ whose id is set by body (it gets the id to use) and
// waits for its answer.
func (c *conn) request(ctx context.Context, body func(id string) string) ([]byte, error) {
	id := "ml" + strconv.FormatUint(c.ids.Add(1), 36)
	ch := make(chan []byte, 1)
	c.pmu.Lock()
	select {
	case <-c.done:
		c.pmu.Unlock()
		return nil, fmt.Errorf("%s: stream ended: %w", c.jid, c.err)
	default:
	}
	c.pending[id] = ch
	c.pmu.Unlock()
	if err := c.send(body(id)); err != nil {
		c.forget(id)
		return nil, err
	}
	select {
	case el, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("%s: stream ended: %w", c.jid, c.err)
		}
		return el, nil
	case <-ctx.Done():
		c.forget(id)
		return nil, ctx.Err()
	}
}

func (c *conn) forget(id string) {
	c.pmu.Lock()
	delete(c.pending, id)
	c.pmu.Unlock()
}

// close ends the stream and waits, boundedly, for the server to end its.
func (c *conn) close() {
	_ = c.send(`</stream:stream>`)
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
	}
	_ = c.nc.Close()
	<-c.done
}
