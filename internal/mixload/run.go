package mixload

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Limits that keep a run bounded in count and time.
const (
	MaxParticipants = 20000
	MaxChannels     = 20000
	MaxMessages     = 1000000
	MaxDeliveries   = 50000000 // expected deliveries (latencies are kept)
	MaxDuration     = 10 * time.Minute
)

// Account is one XMPP account mixload logs in as.
type Account struct {
	User, Password string
}

// Config says what to run. Zero values get the defaults noted.
type Config struct {
	// Addr is the server's client address, host:port on loopback; several,
	// comma-separated (the nodes of a cluster), get the sessions in turn.
	Addr string
	// Domain is the XMPP domain of the accounts.
	Domain string
	// MIXDomain is the MIX service's domain; "" means "mix." + Domain.
	MIXDomain string
	// Accounts must hold at least Participants accounts.
	Accounts []Account
	// Participants is the number of accounts used (default 10).
	Participants int
	// Resources per participant: "1" (default), "2" or "mixed" (every
	// other participant has 2).
	Resources string
	// Channels is the number of fresh channels (default 1);
	// PerParticipant the number each participant joins (default 1).
	Channels, PerParticipant int
	// Messages to post (default 1000, or Rate×Duration when both are set).
	Messages int
	// Rate in messages per second across the run; 0 posts unpaced.
	Rate float64
	// Duration bounds the posting phase; 0 means no bound but Timeout.
	Duration time.Duration
	// Window bounds, when unpaced, the messages each participant has
	// posted and not yet seen come back from the channel (default 20):
	// a closed loop that measures the most the server sustains rather
	// than how it sheds an unbounded flood. Negative means no window.
	Window int
	// TLS is TLSAuto (default), TLSRequired or TLSOff. TLSConfig is the
	// client configuration (default: verification off, as a load client
	// on loopback talks to a server with a self-signed certificate).
	TLS       string
	TLSConfig *tls.Config
	// SASL is SASLAuto (default), SASLScram or SASLPlain.
	SASL string
	// ServerPID, when not 0, is the server process whose CPU time is read
	// from /proc.
	ServerPID int
	// Concurrency bounds joins and leaves in flight (default 32).
	Concurrency int
	// LoginConcurrency bounds logins in flight (default 16): servers cap
	// the connections that are not yet authenticated from one address
	// (the example server at 20 by default, docs/security.md), and a load
	// client must not be refused for logging in faster than a crowd would.
	LoginConcurrency int
	// Drain is how long to wait for deliveries after the last post
	// (default 10 s).
	Drain time.Duration
	// Timeout bounds the whole run (default 5 min, at most MaxDuration).
	Timeout time.Duration
	// Progress, when not nil, gets a progress line every ProgressEvery
	// (default 1 s) while messages are posted and drained.
	Progress      io.Writer
	ProgressEvery time.Duration
	// KeepChannels skips leaving and destroying the channels at the end.
	KeepChannels bool
	// Trace, when not nil, gets every stanza received, one per line
	// (for finding out how a server answers; it slows the run).
	Trace io.Writer
}

// Summary is the outcome of a run, one JSON object.
type Summary struct {
	Participants       int     `json:"participants"`
	Resources          int     `json:"resources"`
	Channels           int     `json:"channels"`
	Memberships        int     `json:"memberships"`
	Rate               float64 `json:"rate_msgs_per_s"` // 0: unpaced
	MessagesPlanned    int     `json:"messages_planned"`
	MessagesSent       int     `json:"messages_sent"`
	Expected           int64   `json:"deliveries_expected"`
	Received           int64   `json:"deliveries_received"`
	Lost               int64   `json:"lost"`
	Duplicated         int64   `json:"duplicated"`
	OutOfOrder         int64   `json:"out_of_order"`
	Foreign            int64   `json:"foreign"`
	Rejected           int64   `json:"rejected"` // posts answered with an error
	Seconds            float64 `json:"seconds"`  // first post to last delivery
	DeliveriesPerSec   float64 `json:"deliveries_per_s"`
	LatencyP50ms       float64 `json:"latency_p50_ms"`
	LatencyP90ms       float64 `json:"latency_p90_ms"`
	LatencyP99ms       float64 `json:"latency_p99_ms"`
	LatencyMaxms       float64 `json:"latency_max_ms"`
	SetupSeconds       float64 `json:"setup_s"` // logins, channels, joins, warm-up
	OwnCPUSeconds      float64 `json:"mixload_cpu_s"`
	OwnCPUShare        float64 `json:"mixload_cpu_share"` // of one core over Seconds
	OwnCPUPer1k        float64 `json:"mixload_cpu_ms_per_1k"`
	ServerCPUSeconds   float64 `json:"server_cpu_s,omitempty"`
	ServerCPUShare     float64 `json:"server_cpu_share,omitempty"`
	ServerCPUPer1k     float64 `json:"server_cpu_ms_per_1k,omitempty"`
	Cores              int     `json:"cores"`
	ServerPIDMeasured  int     `json:"server_pid,omitempty"`
	CleanupErrors      int     `json:"cleanup_errors"`
	WarmupRetries      int     `json:"warmup_retries"`
	PostingErrors      int     `json:"posting_errors"`
	DrainTimedOut      bool    `json:"drain_timed_out"`
	StreamsEnded       int     `json:"streams_ended"` // by the server or an error, before the end
	FirstStreamError   string  `json:"first_stream_error,omitempty"`
	TLS                bool    `json:"tls"`
	RunID              string  `json:"run"`
	SASLMechanismAsked string  `json:"sasl"`
}

// resource is one logged-in resource of a participant.
type resource struct {
	participant int
	c           *conn
	r           *receiver
}

// runner holds one run's state.
type runner struct {
	cfg    Config
	plan   *plan
	runID  string
	marker []byte
	base   time.Time
	totals counters

	res      [][]*resource // per participant
	chanJIDs []string
	sent     [][]bool        // per channel, per sequence number
	refused  [][]bool        // per channel, per sequence number: the channel said no
	windows  []chan struct{} // per participant, when unpaced with a window
	sentMu   sync.Mutex
	sentN    atomic.Int64
	expected atomic.Int64
}

func (r *runner) clock() time.Duration { return time.Since(r.base) }

// Run runs one load scenario against a server and returns its summary.
func Run(ctx context.Context, cfg Config) (Summary, error) {
	if err := cfg.check(); err != nil {
		return Summary{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	p, err := newPlan(cfg.Participants, cfg.Resources, cfg.Channels, cfg.PerParticipant, cfg.Messages)
	if err != nil {
		return Summary{}, err
	}
	var expected int64
	for _, m := range p.msgs {
		expected += int64(p.recipients(m.ch))
	}
	if expected > MaxDeliveries {
		return Summary{}, fmt.Errorf("%d deliveries expected, more than the limit of %d", expected, MaxDeliveries)
	}
	idb := make([]byte, 4)
	_, _ = rand.Read(idb)
	r := &runner{cfg: cfg, plan: p, runID: hex.EncodeToString(idb), base: time.Now()}
	r.marker = []byte("ml" + r.runID + " ")
	r.sent, r.refused = make([][]bool, cfg.Channels), make([][]bool, cfg.Channels)
	for c := range r.sent {
		r.sent[c], r.refused[c] = make([]bool, p.perChan[c]), make([]bool, p.perChan[c])
	}
	r.windows = make([]chan struct{}, cfg.Participants)
	if cfg.Rate == 0 && cfg.Window > 0 {
		for i := range r.windows {
			r.windows[i] = make(chan struct{}, cfg.Window)
		}
	}
	defer r.closeAll()

	setupStart := time.Now()
	if err := r.login(ctx); err != nil {
		return Summary{}, err
	}
	if err := r.createChannels(ctx); err != nil {
		return Summary{}, err
	}
	if err := r.join(ctx); err != nil {
		return Summary{}, err
	}
	retries, err := r.warmUp(ctx)
	if err != nil {
		return Summary{}, err
	}
	setup := time.Since(setupStart)

	s := r.measure(ctx)
	s.SetupSeconds = setup.Seconds()
	s.WarmupRetries = retries
	if !cfg.KeepChannels {
		s.CleanupErrors = r.cleanup(ctx)
	}
	return s, nil
}

func (cfg *Config) check() error {
	if cfg.Participants == 0 {
		cfg.Participants = 10
	}
	if cfg.Resources == "" {
		cfg.Resources = "1"
	}
	if cfg.Channels == 0 {
		cfg.Channels = 1
	}
	if cfg.PerParticipant == 0 {
		cfg.PerParticipant = 1
	}
	if cfg.Messages == 0 {
		cfg.Messages = 1000
		if cfg.Rate > 0 && cfg.Duration > 0 {
			cfg.Messages = int(cfg.Rate * cfg.Duration.Seconds())
		}
	}
	if cfg.MIXDomain == "" {
		cfg.MIXDomain = "mix." + cfg.Domain
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSAuto
	}
	if cfg.SASL == "" {
		cfg.SASL = SASLAuto
	}
	if cfg.TLSConfig == nil {
		cfg.TLSConfig = &tls.Config{InsecureSkipVerify: true, ServerName: cfg.Domain, MinVersion: tls.VersionTLS12} // #nosec G402 -- loopback load client
	}
	if cfg.Window == 0 {
		cfg.Window = 20
	}
	if cfg.LoginConcurrency <= 0 {
		cfg.LoginConcurrency = 16
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 32
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 10 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = time.Second
	}
	switch {
	case cfg.Domain == "" || strings.ContainsAny(cfg.Domain+cfg.MIXDomain, `<>&'" /`):
		return errors.New("a plain domain and MIX domain are required")
	case cfg.Participants < 1 || cfg.Participants > MaxParticipants:
		return fmt.Errorf("participants must be 1 to %d", MaxParticipants)
	case len(cfg.Accounts) < cfg.Participants:
		return fmt.Errorf("%d participants but %d accounts", cfg.Participants, len(cfg.Accounts))
	case cfg.Channels < 1 || cfg.Channels > MaxChannels:
		return fmt.Errorf("channels must be 1 to %d", MaxChannels)
	case cfg.PerParticipant < 1 || cfg.PerParticipant > cfg.Channels:
		return errors.New("channels per participant must be 1 to the number of channels")
	case cfg.Messages < 1 || cfg.Messages > MaxMessages:
		return fmt.Errorf("messages must be 1 to %d", MaxMessages)
	case cfg.Rate < 0 || cfg.Duration < 0 || cfg.Duration > MaxDuration || cfg.Timeout > MaxDuration:
		return fmt.Errorf("rate, duration and timeout must be positive, durations at most %s", MaxDuration)
	case cfg.TLS != TLSAuto && cfg.TLS != TLSRequired && cfg.TLS != TLSOff:
		return fmt.Errorf("TLS must be %s, %s or %s", TLSAuto, TLSRequired, TLSOff)
	case cfg.SASL != SASLAuto && cfg.SASL != SASLScram && cfg.SASL != SASLPlain:
		return fmt.Errorf("SASL must be %s, %s or %s", SASLAuto, SASLScram, SASLPlain)
	}
	for _, a := range cfg.Accounts[:cfg.Participants] {
		if a.User == "" || strings.ContainsAny(a.User, `<>&'"@/ `) {
			return fmt.Errorf("unusable account name %q", a.User)
		}
	}
	for _, addr := range strings.Split(cfg.Addr, ",") {
		if err := CheckLoopback(addr); err != nil {
			return err
		}
	}
	return nil
}

// CheckLoopback refuses an address that is not host:port on a loopback
// address: mixload loads only a server on the same machine.
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q is not on loopback (127.0.0.0/8 or ::1): mixload loads only a local server", addr)
	}
	return nil
}

// parallel runs f(i) for i in [0, n) with at most limit in flight and
// returns the first error; it stops starting new work after an error.
func parallel(ctx context.Context, n, limit int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(ctx, i); err != nil {
				cancel(err)
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// login logs every resource in and sends its initial presence.
func (r *runner) login(ctx context.Context) error {
	type slot struct{ p, k int }
	var slots []slot
	r.res = make([][]*resource, r.cfg.Participants)
	for p, n := range r.plan.resources {
		r.res[p] = make([]*resource, n)
		for k := range n {
			slots = append(slots, slot{p, k})
		}
	}
	var mu sync.Mutex
	addrs := strings.Split(r.cfg.Addr, ",")
	return parallel(ctx, len(slots), r.cfg.LoginConcurrency, func(ctx context.Context, i int) error {
		s := slots[i]
		acc := r.cfg.Accounts[s.p]
		rcv := newReceiver(r.marker, &r.totals, r.plan, s.p)
		if s.k == 0 {
			rcv.primary = true
			rcv.ownEcho = func() { r.release(s.p) }
			rcv.rejected = func(c, seq int) { r.reject(s.p, c, seq) }
		}
		c, err := dial(ctx, &dialConfig{
			addr: addrs[i%len(addrs)], domain: r.cfg.Domain,
			user: acc.User, password: acc.Password,
			resource: fmt.Sprintf("mixload-%s-%d", r.runID, s.k),
			tls:      r.cfg.TLS, tlsConfig: r.cfg.TLSConfig, sasl: r.cfg.SASL,
			onMessage: rcv.handle, clock: r.clock, negotiateTimeout: 30 * time.Second,
			trace: r.trace(),
		})
		if err != nil {
			return err
		}
		mu.Lock()
		r.res[s.p][s.k] = &resource{participant: s.p, c: c, r: rcv}
		mu.Unlock()
		return c.send(`<presence/>`)
	})
}

// trace returns the stanza tracer of Config.Trace, or nil.
func (r *runner) trace() func(string, []byte) {
	if r.cfg.Trace == nil {
		return nil
	}
	var mu sync.Mutex
	return func(to string, el []byte) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(r.cfg.Trace, "%s <- %s\n", to, el)
	}
}

// answer checks that an IQ answer is a result.
func answer(el []byte, what string) error {
	if typ, _ := attr(el, "type"); string(typ) != "result" {
		return fmt.Errorf("%s refused: %.400s", what, el)
	}
	return nil
}

// createChannels creates the fresh channels, each by its first member.
func (r *runner) createChannels(ctx context.Context) error {
	r.chanJIDs = make([]string, r.cfg.Channels)
	for c := range r.chanJIDs {
		r.chanJIDs[c] = "ml" + r.runID + "-" + strconv.Itoa(c) + "@" + r.cfg.MIXDomain
	}
	return parallel(ctx, r.cfg.Channels, r.cfg.Concurrency, func(ctx context.Context, c int) error {
		owner := r.owner(c)
		name, _, _ := strings.Cut(r.chanJIDs[c], "@")
		el, err := owner.request(ctx, func(id string) string {
			return `<iq type='set' id='` + id + `' to='` + r.cfg.MIXDomain + `'><create xmlns='` + nsMIXCore + `' channel='` + name + `'/></iq>`
		})
		if err != nil {
			return err
		}
		return answer(el, "create "+r.chanJIDs[c])
	})
}

// owner returns the connection that creates and destroys channel c: its
// members take turns, so that no account owns many channels (servers cap
// that).
func (r *runner) owner(c int) *conn {
	m := r.plan.members[c]
	return r.res[m[c%len(m)]][0].c
}

// join makes every participant join its channels through client-join
// (XEP-0405 §2.7), subscribing to the messages node only.
func (r *runner) join(ctx context.Context) error {
	all := r.memberships()
	return parallel(ctx, len(all), r.cfg.Concurrency, func(ctx context.Context, i int) error {
		m := all[i]
		c := r.res[m.p][0].c
		// A server may bound a user's requests in flight and answer
		// type='wait' past it (XEP-0405 §2.7 leaves that to it): try again.
		for attempt := 1; ; attempt++ {
			el, err := c.request(ctx, func(id string) string {
				return `<iq type='set' id='` + id + `' to='` + c.bare + `'><client-join xmlns='` + nsMIXPAM + `' channel='` + r.chanJIDs[m.c] +
					`'><join xmlns='` + nsMIXCore + `'><subscribe node='` + nodeMsgs + `'/><nick>p` + strconv.Itoa(m.p) + `</nick></join></client-join></iq>`
			})
			if err != nil {
				return err
			}
			if attempt < 10 && (bytes.Contains(el, []byte(`type='wait'`)) || bytes.Contains(el, []byte(`type="wait"`))) {
				select {
				case <-time.After(time.Duration(attempt) * 50 * time.Millisecond):
					continue
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return answer(el, "client-join "+r.chanJIDs[m.c]+" as "+c.jid)
		}
	})
}

// membership is one participant in one channel.
type membership struct{ p, c int }

// memberships lists every membership, the participants taking turns, so
// that requests in flight at once come from different users.
func (r *runner) memberships() []membership {
	var all []membership
	for j := range r.cfg.PerParticipant {
		for p, chans := range r.plan.channels {
			all = append(all, membership{p, chans[j]})
		}
	}
	return all
}

// warmUp posts one unaccounted message to each channel until every
// resource got one from each of its channels: proof that the server
// treats every resource as MIX capable and delivers to it.
func (r *runner) warmUp(ctx context.Context) (int, error) {
	var pairs int64
	for p, chans := range r.plan.channels {
		pairs += int64(len(chans) * r.plan.resources[p])
	}
	const attempts = 5
	for gen := 1; gen <= attempts; gen++ {
		for c := range r.cfg.Channels {
			m := r.plan.members[c][0]
			if err := r.res[m][0].c.send(r.message(c, "w", gen, 0, 0)); err != nil {
				return 0, err
			}
		}
		wait := time.Duration(gen) * 2 * time.Second
		deadline := time.Now().Add(wait)
		for r.totals.warm.Load() < pairs && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
		if r.totals.warm.Load() == pairs {
			return gen - 1, nil
		}
	}
	for p := range r.res {
		for _, res := range r.res[p] {
			for _, c := range r.plan.channels[p] {
				if !res.r.warmedUp(c, 1) {
					return 0, fmt.Errorf("%s never received messages from %s: is it joined and treated as MIX capable?", res.c.jid, r.chanJIDs[c])
				}
			}
		}
	}
	return 0, errors.New("warm-up failed")
}

// message renders a groupchat message to channel c with the marker
// fields: kind, channel, sequence number, member index, send clock.
func (r *runner) message(c int, kind string, seq, member int, at time.Duration) string {
	var b strings.Builder
	b.Grow(200)
	b.WriteString(`<message type='groupchat' id='`)
	b.WriteString(kind)
	b.WriteString(strconv.Itoa(c))
	b.WriteByte('-')
	b.WriteString(strconv.Itoa(seq))
	b.WriteString(`' to='`)
	b.WriteString(r.chanJIDs[c])
	b.WriteString(`'><body>`)
	b.Write(r.marker)
	b.WriteString(kind)
	for _, n := range []int64{int64(c), int64(seq), int64(member), int64(at)} {
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(n, 10))
	}
	b.WriteString(`</body></message>`)
	return b.String()
}

// measure posts the planned messages, waits for their deliveries and
// summarises.
func (r *runner) measure(ctx context.Context) Summary {
	cfg := r.cfg
	bySender := make(map[int][]int) // participant → message indices
	for i, m := range r.plan.msgs {
		bySender[m.participant] = append(bySender[m.participant], i)
	}
	cpu0 := ownCPU()
	var srv0 time.Duration
	srvOK := false
	if cfg.ServerPID != 0 {
		var err error
		srv0, err = processCPU(cfg.ServerPID)
		srvOK = err == nil
	}
	start := r.clock()
	var endPosting time.Time
	if cfg.Duration > 0 {
		endPosting = time.Now().Add(cfg.Duration)
	}
	var postingErrors atomic.Int64
	var wg sync.WaitGroup
	for p, idx := range bySender {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := r.res[p][0].c
			for _, i := range idx {
				if cfg.Rate > 0 {
					due := r.base.Add(start + time.Duration(float64(i)/cfg.Rate*float64(time.Second)))
					if !endPosting.IsZero() && due.After(endPosting) {
						return
					}
					if d := time.Until(due); d > 0 {
						select {
						case <-time.After(d):
						case <-ctx.Done():
							return
						}
					}
				} else if !endPosting.IsZero() && time.Now().After(endPosting) || ctx.Err() != nil {
					return
				}
				if w := r.windows[p]; w != nil {
					select {
					case w <- struct{}{}:
					case <-ctx.Done():
						return
					}
				}
				m := r.plan.msgs[i]
				// Counted as sent before it is written: a delivery can
				// arrive before Write returns.
				r.markSent(m)
				if err := c.send(r.message(m.ch, "m", m.seq, m.member, r.clock())); err != nil {
					r.unmarkSent(m)
					postingErrors.Add(1)
					return
				}
			}
		}()
	}
	progressDone := make(chan struct{})
	stopProgress := make(chan struct{})
	go r.progress(start, stopProgress, progressDone)
	wg.Wait()

	drainTimedOut := false
	deadline := time.Now().Add(cfg.Drain)
	for r.totals.unique.Load() < r.expected.Load() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			drainTimedOut = true
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	close(stopProgress)
	<-progressDone
	cpu1 := ownCPU()
	var srv1 time.Duration
	if srvOK {
		var err error
		srv1, err = processCPU(cfg.ServerPID)
		srvOK = err == nil
	}
	end := time.Duration(r.totals.lastAt.Load())
	if end < start {
		end = r.clock()
	}
	return r.summarise(start, end, cpu1-cpu0, srv1-srv0, srvOK, int(postingErrors.Load()), drainTimedOut)
}

func (r *runner) markSent(m planned) {
	r.sentMu.Lock()
	r.sent[m.ch][m.seq] = true
	r.sentMu.Unlock()
	r.sentN.Add(1)
	r.expected.Add(int64(r.plan.recipients(m.ch)))
}

// release frees a place in participant p's window.
func (r *runner) release(p int) {
	if w := r.windows[p]; w != nil {
		select {
		case <-w:
		default:
		}
	}
}

// reject takes a post the channel refused out of the expected deliveries.
func (r *runner) reject(p, c, seq int) {
	if c >= len(r.sent) || seq >= len(r.sent[c]) {
		return
	}
	r.sentMu.Lock()
	first := r.sent[c][seq] && !r.refused[c][seq]
	if first {
		r.refused[c][seq] = true
		r.sent[c][seq] = false
	}
	r.sentMu.Unlock()
	if first {
		r.totals.rejected.Add(1)
		r.expected.Add(-int64(r.plan.recipients(c)))
	}
	r.release(p)
}

func (r *runner) unmarkSent(m planned) {
	r.sentMu.Lock()
	r.sent[m.ch][m.seq] = false
	r.sentMu.Unlock()
	r.sentN.Add(-1)
	r.expected.Add(-int64(r.plan.recipients(m.ch)))
}

// progress writes a progress line every ProgressEvery until stop.
func (r *runner) progress(start time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	if r.cfg.Progress == nil {
		return
	}
	t := time.NewTicker(r.cfg.ProgressEvery)
	defer t.Stop()
	var prev int64
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			got := r.totals.unique.Load()
			fmt.Fprintf(r.cfg.Progress, "mixload: %5.1fs posted %d/%d, deliveries %d/%d (%.0f/s), duplicated %d, out of order %d\n",
				(r.clock() - start).Seconds(), r.sentN.Load(), len(r.plan.msgs), got, r.expected.Load(),
				float64(got-prev)/r.cfg.ProgressEvery.Seconds(), r.totals.duplicated.Load(), r.totals.outOfOrder.Load())
			prev = got
		}
	}
}

func (r *runner) summarise(start, end, ownCPU, srvCPU time.Duration, srvOK bool, postingErrors int, drainTimedOut bool) Summary {
	cfg := r.cfg
	s := Summary{
		Participants: cfg.Participants, Channels: cfg.Channels, Rate: cfg.Rate,
		MessagesPlanned: len(r.plan.msgs), MessagesSent: int(r.sentN.Load()),
		Expected: r.expected.Load(), Received: r.totals.unique.Load(),
		Duplicated: r.totals.duplicated.Load(), OutOfOrder: r.totals.outOfOrder.Load(), Foreign: r.totals.foreign.Load(), Rejected: r.totals.rejected.Load(),
		Cores: runtime.NumCPU(), PostingErrors: postingErrors, DrainTimedOut: drainTimedOut,
		RunID: r.runID, SASLMechanismAsked: cfg.SASL, TLS: cfg.TLS != TLSOff,
	}
	var lat []int32
	for p := range r.res {
		for _, res := range r.res[p] {
			select {
			case <-res.c.done:
				s.StreamsEnded++
				if s.FirstStreamError == "" {
					s.FirstStreamError = fmt.Sprintf("%s: %v", res.c.jid, res.c.err)
				}
			default:
			}
		}
		s.Resources += len(r.res[p])
		s.Memberships += len(r.plan.channels[p])
		for _, res := range r.res[p] {
			r.sentMu.Lock()
			for _, c := range r.plan.channels[p] {
				s.Lost += int64(res.r.missing(c, r.sent[c]))
			}
			r.sentMu.Unlock()
			res.r.mu.Lock()
			lat = append(lat, res.r.latencies...)
			res.r.mu.Unlock()
		}
	}
	slices.Sort(lat)
	pct := func(q float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		i := int(q*float64(len(lat))+0.5) - 1
		return float64(lat[max(0, min(i, len(lat)-1))]) / 1000
	}
	s.LatencyP50ms, s.LatencyP90ms, s.LatencyP99ms, s.LatencyMaxms = pct(0.50), pct(0.90), pct(0.99), pct(1)
	s.Seconds = (end - start).Seconds()
	if s.Seconds > 0 {
		s.DeliveriesPerSec = float64(s.Received) / s.Seconds
		s.OwnCPUShare = ownCPU.Seconds() / s.Seconds
	}
	s.OwnCPUSeconds = ownCPU.Seconds()
	if s.Received > 0 {
		s.OwnCPUPer1k = ownCPU.Seconds() * 1e3 * 1e3 / float64(s.Received)
	}
	if srvOK {
		s.ServerPIDMeasured = cfg.ServerPID
		s.ServerCPUSeconds = srvCPU.Seconds()
		if s.Seconds > 0 {
			s.ServerCPUShare = srvCPU.Seconds() / s.Seconds
		}
		if s.Received > 0 {
			s.ServerCPUPer1k = srvCPU.Seconds() * 1e3 * 1e3 / float64(s.Received)
		}
	}
	return s
}

// cleanup makes every participant leave its channels through client-leave
// and the owners destroy them, so that repeated runs do not grow the
// accounts' rosters. It returns the number of requests that failed.
func (r *runner) cleanup(ctx context.Context) int {
	var failed atomic.Int64
	all := r.memberships()
	_ = parallel(ctx, len(all), r.cfg.Concurrency, func(ctx context.Context, i int) error {
		m := all[i]
		c := r.res[m.p][0].c
		el, err := c.request(ctx, func(id string) string {
			return `<iq type='set' id='` + id + `' to='` + c.bare + `'><client-leave xmlns='` + nsMIXPAM + `' channel='` + r.chanJIDs[m.c] +
				`'><leave xmlns='` + nsMIXCore + `'/></client-leave></iq>`
		})
		if err != nil || answer(el, "leave") != nil {
			failed.Add(1)
		}
		return nil
	})
	_ = parallel(ctx, r.cfg.Channels, r.cfg.Concurrency, func(ctx context.Context, c int) error {
		owner := r.owner(c)
		name, _, _ := strings.Cut(r.chanJIDs[c], "@")
		el, err := owner.request(ctx, func(id string) string {
			return `<iq type='set' id='` + id + `' to='` + r.cfg.MIXDomain + `'><destroy xmlns='` + nsMIXCore + `' channel='` + name + `'/></iq>`
		})
		if err != nil || answer(el, "destroy") != nil {
			failed.Add(1)
		}
		return nil
	})
	return int(failed.Load())
}

// closeAll ends every stream.
func (r *runner) closeAll() {
	var wg sync.WaitGroup
	for p := range r.res {
		for _, res := range r.res[p] {
			if res == nil {
				continue
			}
			wg.Add(1)
			go func() { defer wg.Done(); res.c.close() }()
		}
	}
	wg.Wait()
}
