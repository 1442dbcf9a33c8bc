// Command memserver is a complete XMPP server on in-memory stores, with a
// built-in MIX service (XEP-0369, XEP-0403) and every mixpam package wired
// in (XEP-0405): the way to try mixpam with a real client.
//
//	go run ./examples/memserver [flags]
//
// It prints how to connect, and stops cleanly on SIGINT or SIGTERM. Nothing
// is kept after it stops.
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

	"github.com/mixpam/mixpam/examples/memserver/internal/accounts"
	"github.com/mixpam/mixpam/examples/memserver/internal/mixservice"
	"github.com/mixpam/mixpam/examples/memserver/internal/server"
	"github.com/mixpam/mixpam/examples/memserver/internal/tlscert"
	"github.com/mixpam/mixpam/host"
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
	log             string
	cpuProfile      string
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
	fs.StringVar(&o.log, "log", "info", "log level: info or debug")
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
	}
	return o, nil
}

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
	numbered, err := expandPattern(o.userPattern)
	if err != nil {
		return err
	}
	for _, u := range numbered {
		if err := store.Add(u.name, u.password); err != nil {
			return fmt.Errorf("account %q: %w", u.name, err)
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
		MIXDomain:  o.mix,
		Components: make(map[string]string),
		Logger:     logger,
	}
	for i, d := range o.components.keys {
		cfg.Components[d] = o.components.vals[i]
	}
	if o.mix != "" {
		cfg.NewMIX = func(r host.RawRouter) server.MIXService {
			return mixservice.New(mixservice.Config{Domain: o.mix, Router: r, Logger: logger})
		}
	}
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

// numberedAccount is one account from -user-pattern.
type numberedAccount struct{ name, password string }

// maxNumberedAccounts bounds -user-pattern.
const maxNumberedAccounts = 1000000

// expandPattern expands -user-pattern (pattern:password:count).
func expandPattern(spec string) ([]numberedAccount, error) {
	if spec == "" {
		return nil, nil
	}
	i, j := strings.Index(spec, ":"), strings.LastIndex(spec, ":")
	if i < 0 || i == j || !strings.Contains(spec[:i], "%d") {
		return nil, fmt.Errorf("-user-pattern %q: want pattern:password:count with %%d in the pattern", spec)
	}
	var n int
	if _, err := fmt.Sscan(spec[j+1:], &n); err != nil || n < 1 || n > maxNumberedAccounts {
		return nil, fmt.Errorf("-user-pattern %q: count must be 1 to %d", spec, maxNumberedAccounts)
	}
	out := make([]numberedAccount, n)
	for k := range out {
		out[k] = numberedAccount{name: strings.ReplaceAll(spec[:i], "%d", fmt.Sprint(k+1)), password: spec[i+1 : j]}
	}
	return out, nil
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
