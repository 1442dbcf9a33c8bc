// Command mixload is a load client for any XMPP server with MIX-PAM
// (XEP-0405) and a MIX service (XEP-0369): it creates fresh channels, joins
// participants through client-join, posts messages carrying their send
// time and sequence number, and reports deliveries expected, received,
// lost, duplicated and out of order, deliveries per second, latency
// percentiles, its own CPU time and, with -pid, the server's.
//
//	mixload -addr 127.0.0.1:5222 -domain localhost -accounts 'load%d' -password secret \
//	    -participants 10 -resources 2 -messages 1000
//
// It prints a progress line every second on standard error and one JSON
// summary line on standard output. It talks only to loopback addresses and
// every run is bounded in size and time (see the limits in -help).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mixpam/mixpam/internal/mixload"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "mixload:", err)
		}
		os.Exit(2)
	}
}

// run parses the flags, runs the scenario and prints the summary.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	s, err := mixload.Run(ctx, cfg)
	if err != nil {
		return err
	}
	line, err := json.Marshal(s)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "mixload: %d/%d deliveries in %.2fs (%.0f/s), lost %d, duplicated %d, out of order %d, refused posts %d; latency p50 %.2f ms p90 %.2f ms p99 %.2f ms max %.2f ms; mixload CPU %.2fs (%.0f%% of a core)",
		s.Received, s.Expected, s.Seconds, s.DeliveriesPerSec, s.Lost, s.Duplicated, s.OutOfOrder, s.Rejected,
		s.LatencyP50ms, s.LatencyP90ms, s.LatencyP99ms, s.LatencyMaxms, s.OwnCPUSeconds, 100*s.OwnCPUShare)
	if s.ServerPIDMeasured != 0 {
		fmt.Fprintf(stderr, "; server CPU %.2fs (%.0f%% of a core), %.1f ms per 1,000 deliveries", s.ServerCPUSeconds, 100*s.ServerCPUShare, s.ServerCPUPer1k)
	}
	fmt.Fprintln(stderr)
	fmt.Fprintln(stdout, string(line))
	return nil
}

func parseFlags(args []string, stderr io.Writer) (mixload.Config, error) {
	var (
		cfg                mixload.Config
		accounts, password string
		first              int
		quiet, trace       bool
	)
	fs := flag.NewFlagSet("mixload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:5222", "server's client address (loopback only); several, comma-separated (a cluster's nodes), take the sessions in turn")
	fs.StringVar(&cfg.Domain, "domain", "localhost", "XMPP domain of the accounts")
	fs.StringVar(&cfg.MIXDomain, "mix", "", "MIX service domain (default mix.<domain>)")
	fs.StringVar(&accounts, "accounts", "load%d", "accounts: a pattern with %d (numbered from -first, password from -password), or a list name:password,name:password,…")
	fs.StringVar(&password, "password", "", "password of the accounts given by a pattern")
	fs.IntVar(&first, "first", 1, "first number of a pattern's accounts")
	fs.IntVar(&cfg.Participants, "participants", 10, fmt.Sprintf("accounts taking part (at most %d)", mixload.MaxParticipants))
	fs.StringVar(&cfg.Resources, "resources", "1", "resources per participant: 1, 2 or mixed (every other participant has 2)")
	fs.IntVar(&cfg.Channels, "channels", 1, fmt.Sprintf("fresh channels to create (at most %d)", mixload.MaxChannels))
	fs.IntVar(&cfg.PerParticipant, "per-participant", 1, "channels each participant joins")
	fs.IntVar(&cfg.Messages, "messages", 0, fmt.Sprintf("messages to post (default 1000, or rate × duration; at most %d)", mixload.MaxMessages))
	fs.Float64Var(&cfg.Rate, "rate", 0, "messages per second across the run; 0 posts unpaced")
	fs.IntVar(&cfg.Window, "window", 20, "unpaced: messages each participant may have posted and not yet seen come back; -1 for none (an open-loop flood)")
	fs.DurationVar(&cfg.Duration, "duration", 0, fmt.Sprintf("stop posting after this long (at most %s)", mixload.MaxDuration))
	fs.IntVar(&cfg.ServerPID, "pid", 0, "server process ID: report its CPU time from /proc")
	fs.StringVar(&cfg.TLS, "tls", mixload.TLSAuto, "auto (STARTTLS when offered), starttls (required) or off; certificates are not verified")
	fs.StringVar(&cfg.SASL, "sasl", mixload.SASLAuto, "auto (SCRAM when offered, else PLAIN), scram or plain")
	fs.IntVar(&cfg.Concurrency, "concurrency", 32, "joins and leaves in flight")
	fs.IntVar(&cfg.LoginConcurrency, "login-concurrency", 16, "logins in flight (servers cap unauthenticated connections per address)")
	fs.DurationVar(&cfg.Drain, "drain", 10*time.Second, "how long to wait for deliveries after the last post")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Minute, fmt.Sprintf("bound on the whole run (at most %s)", mixload.MaxDuration))
	fs.BoolVar(&cfg.KeepChannels, "keep-channels", false, "do not leave and destroy the channels at the end")
	fs.BoolVar(&quiet, "quiet", false, "no progress lines")
	fs.BoolVar(&trace, "trace", false, "print every stanza received on standard error (slow; to see how a server answers)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if !quiet {
		cfg.Progress = stderr
	}
	if trace {
		cfg.Trace = stderr
	}
	var err error
	cfg.Accounts, err = parseAccounts(accounts, password, first, cfg.Participants)
	return cfg, err
}

// parseAccounts expands -accounts: a pattern with %d gives n accounts with
// the same password, a list gives its name:password pairs.
func parseAccounts(spec, password string, first, n int) ([]mixload.Account, error) {
	if strings.Contains(spec, "%d") {
		if password == "" {
			return nil, errors.New("-password is required with an account pattern")
		}
		if n < 0 || n > mixload.MaxParticipants {
			return nil, fmt.Errorf("participants must be 1 to %d", mixload.MaxParticipants)
		}
		out := make([]mixload.Account, n)
		for i := range out {
			out[i] = mixload.Account{User: strings.ReplaceAll(spec, "%d", fmt.Sprint(first+i)), Password: password}
		}
		return out, nil
	}
	var out []mixload.Account
	for _, pair := range strings.Split(spec, ",") {
		user, pw, ok := strings.Cut(pair, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("account %q: want name:password", pair)
		}
		out = append(out, mixload.Account{User: user, Password: pw})
	}
	return out, nil
}
