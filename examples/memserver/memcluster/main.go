// Command memcluster is the example server (examples/memserver) as one node
// of a cluster: sessions, routing and per-user work spread over every node
// through NATS (package github.com/mixpam/mixpam/cluster), rosters,
// archives and blocklists in one PostgreSQL database (package pgstore).
//
//	go run . -node n1 -pg postgres://... -nats-listen 127.0.0.1:4222
//	go run . -node n2 -pg postgres://... -nats nats://127.0.0.1:4222 -listen 127.0.0.1:5223
//
// The first node above runs a NATS server (with JetStream) inside the
// process, the others connect to it; with -nats-listen alone one process
// is a complete demo. See the README's cluster section.
//
// It is its own module, because package cluster needs go 1.26 and the NATS
// modules, which the core module and the single-node memserver do not ask
// of their users; it lives under examples/memserver so that it can reuse
// the example server's internal packages.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/cluster"
	"github.com/mixpam/mixpam/examples/memserver/internal/accounts"
	"github.com/mixpam/mixpam/examples/memserver/internal/tlscert"
	"github.com/mixpam/mixpam/pgstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "memcluster:", err)
		}
		os.Exit(2)
	}
}

// options are the command line flags.
type options struct {
	node, nats, natsListen, natsStore string
	domain, listen, mix, tls          string
	pg, userPattern, log              string
	archiveMax                        int
	heartbeat                         time.Duration
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("memcluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.node, "node", "", "this node's name (letters, digits, '-', '_'); required")
	fs.StringVar(&o.nats, "nats", "", "NATS server URL (JetStream enabled), e.g. nats://127.0.0.1:4222")
	fs.StringVar(&o.natsListen, "nats-listen", "", "run a NATS server with JetStream in this process on this address (e.g. 127.0.0.1:4222) and use it")
	fs.StringVar(&o.natsStore, "nats-store", "", "directory of the embedded NATS server's streams; empty: a fresh temporary directory")
	fs.DurationVar(&o.heartbeat, "heartbeat-ttl", cluster.DefaultHeartbeatTTL, "how long a node counts as alive after its last heartbeat: a dead node's sessions are purged about this long after it died")
	fs.StringVar(&o.domain, "domain", "localhost", "XMPP domain served (the same on every node)")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:5222", "client-to-server address")
	fs.StringVar(&o.mix, "mix", "mix.<domain>", "domain of the built-in MIX service, run by one node at a time (the owner of the domain); empty disables it")
	fs.StringVar(&o.tls, "tls", "auto", "auto: STARTTLS required, with a self-signed certificate made at start; off: plain TCP")
	fs.StringVar(&o.pg, "pg", "", "PostgreSQL connection string shared by every node; required")
	fs.StringVar(&o.userPattern, "user-pattern", "user%d:pw:100", "numbered accounts, as pattern:password:count with %d in the pattern (the same on every node)")
	fs.IntVar(&o.archiveMax, "archive-max", 10000, "most archived messages kept per account; 0: no limit")
	fs.StringVar(&o.log, "log", "info", "log level: info or debug")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.mix = strings.ReplaceAll(o.mix, "<domain>", o.domain)
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	case o.node == "":
		return o, errors.New("-node is required")
	case o.pg == "":
		return o, errors.New("-pg is required: the nodes share their stores in PostgreSQL")
	case (o.nats == "") == (o.natsListen == ""):
		return o, errors.New("give one of -nats (connect to a NATS server) and -nats-listen (run one here)")
	case o.tls != "auto" && o.tls != "off":
		return o, fmt.Errorf("-tls must be auto or off, not %q", o.tls)
	case o.log != "info" && o.log != "debug":
		return o, fmt.Errorf("-log must be info or debug, not %q", o.log)
	case o.archiveMax < 0:
		return o, errors.New("-archive-max must not be negative")
	}
	return o, nil
}

// run starts the node as the flags say and serves until ctx ends or the
// cluster declares the node dead.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if o.log == "debug" {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})).With("node", o.node)

	natsURL := o.nats
	if o.natsListen != "" {
		dir := o.natsStore
		if dir == "" {
			if dir, err = os.MkdirTemp("", "memcluster-nats-"); err != nil {
				return err
			}
			defer os.RemoveAll(dir)
		}
		ns, err := startNATS(o.natsListen, dir)
		if err != nil {
			return err
		}
		defer ns.Shutdown()
		natsURL = ns.ClientURL()
		logger.Info("embedded NATS server", "url", natsURL)
	}

	store := accounts.New()
	users, err := accounts.ExpandPattern(o.userPattern)
	if err != nil {
		return err
	}
	for _, u := range users {
		if err := store.Add(u.Name, u.Password); err != nil {
			return fmt.Errorf("account %q: %w", u.Name, err)
		}
	}
	pool, err := pgxpool.New(ctx, o.pg)
	if err != nil {
		return fmt.Errorf("-pg: %w", err)
	}
	defer pool.Close()
	if err := pgstore.Migrate(ctx, pool); err != nil {
		return err
	}
	cfg := nodeConfig{
		Name:         o.node,
		NATS:         natsURL,
		Domain:       o.domain,
		MIXDomain:    o.mix,
		Listen:       o.listen,
		Accounts:     store,
		Pool:         pool,
		Retention:    archive.Retention{MaxRecords: o.archiveMax},
		HeartbeatTTL: o.heartbeat,
		Logger:       logger,
	}
	if o.tls == "auto" {
		cert, err := tlscert.Generate(o.domain)
		if err != nil {
			return err
		}
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	n, err := startNode(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "mixpam memcluster node %s: XMPP domain %s, clients on %s, NATS %s\n", o.node, o.domain, n.Addr, natsURL)
	if len(users) > 0 {
		fmt.Fprintf(stdout, "  accounts %s to %s@%s (-user-pattern %s)\n", users[0].Name, users[len(users)-1].Name, o.domain, o.userPattern)
	}
	fmt.Fprintln(stdout, "Stop with Ctrl-C.")
	select {
	case <-ctx.Done():
	case <-n.Evicted():
		// Cut off from NATS for longer than the heartbeat TTL: the others
		// purged this node's sessions. Stop, so its clients reconnect to a
		// live node; a supervisor restarts it as a new node.
		logger.Error("declared dead by the cluster; stopping")
		_ = n.Close()
		return errors.New("evicted from the cluster")
	}
	logger.Info("shutting down")
	err = n.Close()
	remote, handed := n.traffic()
	logger.Info("stopped", "stanzas_to_other_nodes_sessions", remote, "handed_to_other_owners", handed)
	return err
}
