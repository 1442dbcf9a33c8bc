// Command memserver is a complete XMPP server on in-memory stores, with a
// built-in MIX service (XEP-0369, XEP-0403) and every mixpam package wired
// in (XEP-0405): the way to try mixpam with a real client.
//
//	go run ./examples/memserver [flags]
//
// It prints how to connect, and stops cleanly on SIGINT or SIGTERM. With
// -store memory (the default) nothing is kept after it stops; with
// -store postgres -pg DSN, rosters, archives and blocklists are kept in
// PostgreSQL (package pgstore) and are there again at the next start.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/examples/memserver/internal/accounts"
	"github.com/mixpam/mixpam/examples/memserver/internal/mixservice"
	"github.com/mixpam/mixpam/examples/memserver/internal/server"
	"github.com/mixpam/mixpam/examples/memserver/internal/throttle"
	"github.com/mixpam/mixpam/examples/memserver/internal/tlscert"
	"github.com/mixpam/mixpam/examples/memserver/internal/wire"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/roster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "memserver:", err)
		}
		os.Exit(2)
	}
}

// options are the command line flags.
type options struct {
	domain          string
	listen          string
	mix             string
	componentListen string
	components      pairs
	users           pairs
	userPattern     string
	tls             string
	maxStanza       int64
	quotas          quotas
	limits          server.Limits
	log             string
	store           string
	pg              string
	archiveMax      int
	archiveMaxAge   time.Duration
	cpuProfile      string
}

// quotas are the per-account limits (docs/security.md).
type quotas struct {
	resources, queued                  int
	rosterItems, rosterItemBytes       int
	blocklistItems, blocklistItemBytes int
}

// pairs is a repeatable flag of key<sep>value.
type pairs struct {
	sep  string
	keys []string
	vals []string
}

// String implements flag.Value.
func (p *pairs) String() string { return strings.Join(p.keys, ",") }

// Set implements flag.Value.
func (p *pairs) Set(s string) error {
	k, v, ok := strings.Cut(s, p.sep)
	if !ok || k == "" {
		return fmt.Errorf("want name%svalue", p.sep)
	}
	if slices.Contains(p.keys, k) {
		return fmt.Errorf("%s given twice", k)
	}
	p.keys, p.vals = append(p.keys, k), append(p.vals, v)
	return nil
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	o := options{components: pairs{sep: "="}, users: pairs{sep: ":"}}
	fs := flag.NewFlagSet("memserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.domain, "domain", "localhost", "XMPP domain served")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:5222", "client-to-server address")
	fs.StringVar(&o.mix, "mix", "mix.<domain>", "domain of the built-in MIX service; empty disables it")
	fs.StringVar(&o.componentListen, "component-listen", "127.0.0.1:5347", "XEP-0114 address for external components")
	fs.Var(&o.components, "component", "allow an external component under that domain, as name=secret (repeatable)")
	fs.Var(&o.users, "user", "an account, as name:password (repeatable); with none, alice, bob and carol get random passwords")
	fs.StringVar(&o.userPattern, "user-pattern", "", "numbered accounts, as pattern:password:count with %d in the pattern (load%d:pw:100 gives load1 to load100), e.g. for mixload")
	fs.StringVar(&o.tls, "tls", "auto", "auto: STARTTLS required, with a self-signed certificate made at start; off: plain TCP")
	fs.Int64Var(&o.maxStanza, "max-stanza", server.DefaultMaxStanza, "largest stanza in bytes; larger ones end the stream with policy-violation")
	fs.IntVar(&o.quotas.resources, "max-resources", server.DefaultMaxResources, "resources one account may bind at once; more get resource-constraint")
	fs.IntVar(&o.quotas.queued, "max-queued", server.DefaultMaxQueued, "bytes waiting for one session before it is closed with resource-constraint")
	fs.IntVar(&o.quotas.rosterItems, "max-roster-items", roster.DefaultMaxItems, "items in one roster, channels included")
	fs.IntVar(&o.quotas.rosterItemBytes, "max-roster-item-bytes", roster.DefaultMaxItemBytes, "bytes of one roster item as a roster result carries it")
	fs.IntVar(&o.quotas.blocklistItems, "max-blocklist-items", blocking.DefaultMaxItems, "JIDs in one blocklist")
	fs.IntVar(&o.quotas.blocklistItemBytes, "max-blocklist-item-bytes", blocking.DefaultMaxItemBytes, "bytes of one blocklist item as a blocklist result carries it")
	l := &o.limits
	fs.Int64Var(&l.UnauthStanza, "max-stanza-unauth", server.DefaultUnauthStanza, "largest element in bytes before authentication")
	fs.IntVar(&l.Depth, "max-depth", wire.DefaultDepth, "deepest nesting of an element (the element itself is 1); deeper ends the stream with policy-violation")
	fs.IntVar(&l.Tokens, "max-tokens", wire.DefaultTokens, "most tokens (tags, attributes, text runs) in one element; more ends the stream with policy-violation")
	fs.DurationVar(&l.StanzaTimeout, "stanza-timeout", server.DefaultStanzaTimeout, "longest time one element may take to arrive after login, from its first byte (connection-timeout)")
	fs.DurationVar(&l.NegotiationTimeout, "negotiation-timeout", server.DefaultNegotiationTimeout, "longest time from connecting to a bound resource or a component handshake")
	fs.IntVar(&l.MaxUnauth, "max-unauth", server.DefaultMaxUnauth, "most connections not yet authenticated (resource-constraint beyond)")
	fs.IntVar(&l.MaxUnauthPerAddr, "max-unauth-per-addr", server.DefaultMaxUnauthPerAddr, "most connections not yet authenticated from one IP address (policy-violation beyond)")
	fs.IntVar(&l.Throttle.AddrFailures, "auth-failures", throttle.DefaultAddrFailures, "failed logins or handshakes from one IP address within -auth-ban before it is refused for -auth-ban")
	fs.IntVar(&l.Throttle.AccountFailures, "auth-failures-account", throttle.DefaultAccountFailures, "failed logins for one account within -auth-ban before it is closed, for -auth-ban, to addresses that failed")
	fs.DurationVar(&l.Throttle.Ban, "auth-ban", throttle.DefaultBan, "period over which failed logins are counted, and how long a refusal lasts")
	fs.StringVar(&o.log, "log", "info", "log level: info or debug")
	fs.StringVar(&o.store, "store", "memory", "where rosters, archives and blocklists live: memory or postgres")
	fs.StringVar(&o.pg, "pg", "", "PostgreSQL connection string for -store postgres, e.g. postgres://user@127.0.0.1:5432/db")
	fs.IntVar(&o.archiveMax, "archive-max", defaultArchiveMax, "most archived messages kept per account, oldest dropped first; 0: no limit")
	fs.DurationVar(&o.archiveMaxAge, "archive-max-age", 0, "how long archived messages are kept, e.g. 720h; 0: no limit")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile (go tool pprof) to this file until the server stops")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.mix = strings.ReplaceAll(o.mix, "<domain>", o.domain)
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	case o.tls != "auto" && o.tls != "off":
		return o, fmt.Errorf("-tls must be auto or off, not %q", o.tls)
	case o.log != "info" && o.log != "debug":
		return o, fmt.Errorf("-log must be info or debug, not %q", o.log)
	case o.maxStanza < 1024:
		return o, fmt.Errorf("-max-stanza must be at least 1024")
	case o.quotas.resources < 1, o.quotas.rosterItems < 1, o.quotas.blocklistItems < 1:
		return o, fmt.Errorf("-max-resources, -max-roster-items and -max-blocklist-items must be at least 1")
	case int64(o.quotas.queued) < o.maxStanza:
		return o, fmt.Errorf("-max-queued must be at least -max-stanza")
	case o.quotas.rosterItemBytes < 256 || o.quotas.blocklistItemBytes < 256:
		return o, fmt.Errorf("-max-roster-item-bytes and -max-blocklist-item-bytes must be at least 256")
	case o.store != "memory" && o.store != "postgres":
		return o, fmt.Errorf("-store must be memory or postgres, not %q", o.store)
	case (o.store == "postgres") != (o.pg != ""):
		return o, fmt.Errorf("-pg is needed with -store postgres, and only then")
	case o.archiveMax < 0 || o.archiveMaxAge < 0:
		return o, fmt.Errorf("-archive-max and -archive-max-age must not be negative")
	case o.limits.UnauthStanza < 1024:
		return o, fmt.Errorf("-max-stanza-unauth must be at least 1024")
	case o.limits.Depth < 4:
		return o, fmt.Errorf("-max-depth must be at least 4")
	case o.limits.Tokens < 64:
		return o, fmt.Errorf("-max-tokens must be at least 64")
	}
	for name, v := range map[string]int{"-max-unauth": o.limits.MaxUnauth, "-max-unauth-per-addr": o.limits.MaxUnauthPerAddr,
		"-auth-failures": o.limits.Throttle.AddrFailures, "-auth-failures-account": o.limits.Throttle.AccountFailures} {
		if v < 1 {
			return o, fmt.Errorf("%s must be at least 1", name)
		}
	}
	for name, v := range map[string]time.Duration{"-stanza-timeout": o.limits.StanzaTimeout,
		"-negotiation-timeout": o.limits.NegotiationTimeout, "-auth-ban": o.limits.Throttle.Ban} {
		if v <= 0 {
			return o, fmt.Errorf("%s must be positive", name)
		}
	}
	return o, nil
}

// defaultArchiveMax is the example server's archive quota per account: a
// hostile channel or account cannot make it keep more than this many
// messages for one user (issue 12), while a demo keeps ample history.
const defaultArchiveMax = 10000

// run starts the server as the flags say, prints how to connect and serves
// until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if o.log == "debug" {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	store := accounts.New()
	users, passwords := o.users.keys, o.users.vals
	numbered, err := accounts.ExpandPattern(o.userPattern)
	if err != nil {
		return err
	}
	for _, u := range numbered {
		if err := store.Add(u.Name, u.Password); err != nil {
			return fmt.Errorf("account %q: %w", u.Name, err)
		}
	}
	if len(users) == 0 && len(numbered) == 0 {
		users = []string{"alice", "bob", "carol"}
		for range users {
			passwords = append(passwords, accounts.RandomPassword(12))
		}
	}
	for i, u := range users {
		if err := store.Add(u, passwords[i]); err != nil {
			return fmt.Errorf("account %q: %w", u, err)
		}
	}

	cfg := server.Config{
		Domain:     o.domain,
		Accounts:   store,
		MaxStanza:  o.maxStanza,
		Limits:     o.limits,
		MIXDomain:  o.mix,
		Components: make(map[string]string),
		Logger:     logger,

		MaxResources: o.quotas.resources,
		MaxQueued:    o.quotas.queued,
		Roster:       roster.Limits{MaxItems: o.quotas.rosterItems, MaxItemBytes: o.quotas.rosterItemBytes},
		Blocking:     blocking.Limits{MaxItems: o.quotas.blocklistItems, MaxItemBytes: o.quotas.blocklistItemBytes},
	}
	for i, d := range o.components.keys {
		cfg.Components[d] = o.components.vals[i]
	}
	if o.mix != "" {
		cfg.NewMIX = func(r host.RawRouter) server.MIXService {
			return mixservice.New(mixservice.Config{Domain: o.mix, Router: r, Logger: logger})
		}
	}
	closeStores, err := openStores(ctx, o, &cfg, logger)
	if err != nil {
		return err
	}
	defer closeStores()
	if o.tls == "auto" {
		cert, err := tlscert.Generate(o.domain)
		if err != nil {
			return err
		}
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}

	var lc net.ListenConfig
	c2sLn, err := lc.Listen(ctx, "tcp", o.listen)
	if err != nil {
		_ = srv.Close()
		return err
	}
	listeners := []func() error{func() error { return srv.ServeC2S(c2sLn) }}
	componentAddr := ""
	if len(cfg.Components) > 0 {
		compLn, err := lc.Listen(ctx, "tcp", o.componentListen)
		if err != nil {
			_ = c2sLn.Close()
			_ = srv.Close()
			return err
		}
		componentAddr = compLn.Addr().String()
		listeners = append(listeners, func() error { return srv.ServeComponents(compLn) })
	}

	printBanner(stdout, o, c2sLn.Addr().String(), componentAddr, users, passwords)

	errs := make(chan error, len(listeners))
	for _, serve := range listeners {
		go func() { errs <- serve() }()
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errs:
	}
	logger.Info("shutting down")
	err = errors.Join(serveErr, srv.Close())
	logger.Info("stopped")
	return err
}

// printBanner prints, in a few lines, what a client needs to connect.
func printBanner(w io.Writer, o options, addr, componentAddr string, users, passwords []string) {
	fmt.Fprintf(w, "mixpam memserver: XMPP domain %s, clients on %s\n", o.domain, addr)
	if o.tls == "auto" {
		fmt.Fprintln(w, "  TLS: STARTTLS required, self-signed certificate (accept it in your client)")
	} else {
		fmt.Fprintln(w, "  TLS: off (plain TCP; PLAIN and SCRAM offered)")
	}
	if o.mix != "" {
		fmt.Fprintf(w, "  MIX service: %s (create a channel there, e.g. coven@%s, then join it through your account)\n", o.mix, o.mix)
	}
	if componentAddr != "" {
		fmt.Fprintf(w, "  components (XEP-0114) on %s for %s\n", componentAddr, strings.Join(o.components.keys, ", "))
	}
	fmt.Fprintln(w, "  accounts:")
	for i, u := range users {
		fmt.Fprintf(w, "    %s@%s  password %s\n", u, o.domain, passwords[i])
	}
	fmt.Fprintln(w, "Stop with Ctrl-C.")
}
