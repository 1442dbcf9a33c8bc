package main

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/cluster"
	"github.com/mixpam/mixpam/examples/memserver/internal/accounts"
	"github.com/mixpam/mixpam/examples/memserver/internal/mixservice"
	"github.com/mixpam/mixpam/examples/memserver/internal/server"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/pgstore"
)

// nodeConfig is what one node of the cluster is started with.
type nodeConfig struct {
	Name      string // node name (cluster.Config.Name)
	NATS      string // NATS URL
	Domain    string
	MIXDomain string // "" disables the built-in MIX service
	Listen    string // client-to-server address
	TLS       *tls.Config
	Accounts  *accounts.Store
	Pool      *pgxpool.Pool // rosters, archives and blocklists
	Retention archive.Retention
	// HeartbeatTTL bounds how long a dead node's sessions stay listed;
	// zero means cluster.DefaultHeartbeatTTL.
	HeartbeatTTL time.Duration
	Logger       *slog.Logger
}

// node is one running server node: the example server with its sessions,
// routing and per-user work spread over the cluster.
type node struct {
	srv  *server.Server
	cn   *cluster.Node
	seam *clusterSeam
	nc   *nats.Conn
	arch *pgstore.ArchiveStore
	ln   net.Listener
	errc chan error
	// killed is set by Kill.
	killed bool
	// Addr is the client-to-server address.
	Addr string
}

// startNode connects to NATS, joins the cluster and starts serving
// clients on cfg.Listen. The stores are PostgreSQL's, shared by every node.
func startNode(ctx context.Context, cfg nodeConfig) (*node, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	nc, err := nats.Connect(cfg.NATS, nats.Name("memcluster "+cfg.Name), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("NATS %s: %w", cfg.NATS, err)
	}
	n := &node{nc: nc, errc: make(chan error, 1)}
	g := &gate{ready: make(chan struct{})}
	n.cn, err = cluster.Start(ctx, cluster.Config{
		Conn:         nc,
		Name:         cfg.Name,
		Local:        g,
		Owned:        g.owned,
		Purged:       g.purged,
		Moved:        g.moved,
		HeartbeatTTL: cfg.HeartbeatTTL,
		Logger:       log,
	})
	if err != nil {
		nc.Close()
		return nil, err
	}
	n.seam = &clusterSeam{Node: n.cn}
	n.arch, err = pgstore.NewArchiveStore(cfg.Pool, pgstore.ArchiveConfig{Retention: cfg.Retention, Logger: log})
	if err != nil {
		n.abort()
		return nil, err
	}
	scfg := server.Config{
		Domain:    cfg.Domain,
		Accounts:  cfg.Accounts,
		TLS:       cfg.TLS,
		MIXDomain: cfg.MIXDomain,
		Logger:    log,
		Rosters:   pgstore.NewRosterStore(cfg.Pool),
		Archive:   n.arch,
		Blocks:    pgstore.NewBlockStore(cfg.Pool),
		Cluster:   n.seam,
	}
	if cfg.MIXDomain != "" {
		scfg.NewMIX = func(r host.RawRouter) server.MIXService {
			return mixservice.New(mixservice.Config{Domain: cfg.MIXDomain, Router: r, Logger: log})
		}
	}
	n.srv, err = server.New(scfg)
	if err != nil {
		n.abort()
		return nil, err
	}
	g.open(n.srv)
	var lc net.ListenConfig
	n.ln, err = lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		_ = n.srv.Close()
		n.abort()
		return nil, err
	}
	n.Addr = n.ln.Addr().String()
	go func() { n.errc <- n.srv.ServeC2S(n.ln) }()
	return n, nil
}

// abort undoes a start that failed half-way.
func (n *node) abort() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = n.cn.Close(ctx)
	if n.arch != nil {
		_ = n.arch.Close()
	}
	n.nc.Close()
}

// Close stops the node cleanly: its clients get system-shutdown, their
// sessions leave the cluster's registry at once, then the node leaves.
func (n *node) Close() error {
	err := n.srv.Close()
	serveErr := <-n.errc
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = errors.Join(err, serveErr, n.cn.Close(ctx), n.arch.Close())
	n.nc.Close()
	return err
}

// Kill stops the node as a crash does, as far as the cluster can tell: its
// NATS connection goes first, so no goodbye, no session removal and no
// heartbeat reaches the others, which purge its sessions when its
// heartbeat expires. Then its client connections end.
func (n *node) Kill() {
	n.killed = true
	n.nc.Close()
	_ = n.srv.Close()
	<-n.errc
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = n.cn.Close(ctx) // fails: the connection is gone; it stops the node's goroutines
	_ = n.arch.Close()
}

// Evicted is closed when the cluster declared this node dead (cut off from
// NATS for longer than the heartbeat TTL).
func (n *node) Evicted() <-chan struct{} { return n.cn.Evicted() }

// clusterSeam is the server's Cluster on a cluster.Node. It counts what
// crosses nodes, for the figures (traffic).
type clusterSeam struct {
	*cluster.Node
	remote, handed atomic.Int64
}

// ToOwner implements server.Cluster.
func (c *clusterSeam) ToOwner(ctx context.Context, key jid.JID, kind server.OwnedKind, to jid.JID, raw []byte) (bool, error) {
	sent, err := c.Node.ToOwner(ctx, cluster.Owned{Key: key, To: to, Kind: string(kind), Raw: raw})
	if sent {
		c.handed.Add(1)
	}
	return sent, err
}

// RouteRemote implements server.Cluster.
func (c *clusterSeam) RouteRemote(ctx context.Context, to jid.JID, raw []byte) (bool, error) {
	sent, err := c.Node.RouteRemote(ctx, to, raw)
	if sent {
		c.remote.Add(1)
	}
	return sent, err
}

// traffic says how many stanzas this node sent to sessions on other nodes,
// and handed to other owner nodes.
func (n *node) traffic() (remote, handed int64) {
	return n.seam.remote.Load(), n.seam.handed.Load()
}

// gate hands what the cluster delivers to the node's server once the
// server exists: the cluster.Node starts first (the server needs it), and
// another node may route to it at once.
type gate struct {
	ready chan struct{}
	srv   *server.Server
}

func (g *gate) open(srv *server.Server) {
	g.srv = srv
	close(g.ready)
}

// server waits for the server, or returns nil when ctx (the cluster
// node's lifetime) ends first.
func (g *gate) server(ctx context.Context) *server.Server {
	select {
	case <-g.ready:
		return g.srv
	case <-ctx.Done():
		return nil
	}
}

// Route implements host.Router (cluster.Config.Local).
func (g *gate) Route(ctx context.Context, to jid.JID, st xml.TokenReader) error {
	srv := g.server(ctx)
	if srv == nil {
		return ctx.Err()
	}
	return srv.LocalRouter().Route(ctx, to, st)
}

// RouteRaw implements host.RawRouter.
func (g *gate) RouteRaw(ctx context.Context, to jid.JID, raw []byte) error {
	srv := g.server(ctx)
	if srv == nil {
		return ctx.Err()
	}
	return srv.LocalRouter().RouteRaw(ctx, to, raw)
}

func (g *gate) owned(ctx context.Context, o cluster.Owned) {
	if srv := g.server(ctx); srv != nil {
		srv.DeliverOwned(ctx, server.OwnedKind(o.Kind), o.To, o.Raw)
	}
}

func (g *gate) purged(ctx context.Context, sessions []jid.JID) {
	if srv := g.server(ctx); srv != nil {
		srv.SessionsPurged(ctx, sessions)
	}
}

func (g *gate) moved(ctx context.Context, moved func(jid.JID) bool) {
	if srv := g.server(ctx); srv != nil {
		srv.OwnersMoved(ctx, moved)
	}
}

// startNATS runs a NATS server with JetStream in this process, listening
// on addr (host:port; port 0 picks one), keeping its streams in dir, and
// returns it; its ClientURL is what nodes connect to.
func startNATS(addr, dir string) (*natsserver.Server, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("-nats-listen %q: %w", addr, err)
	}
	var port int
	if _, err := fmt.Sscan(portStr, &port); err != nil {
		return nil, fmt.Errorf("-nats-listen %q: bad port", addr)
	}
	if port == 0 {
		port = natsserver.RANDOM_PORT
	}
	s, err := natsserver.NewServer(&natsserver.Options{
		Host:      host,
		Port:      port,
		JetStream: true,
		StoreDir:  dir,
		NoSigs:    true,
		NoLog:     true,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, errors.New("embedded NATS: not ready after 10s")
	}
	return s, nil
}
