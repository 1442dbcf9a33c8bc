package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
)

// Config configures a Node.
type Config struct {
	// Conn is the node's connection to NATS (with JetStream enabled on the
	// server). The node does not close it.
	Conn *nats.Conn
	// Name names the node in logs and in its ID: letters, digits, '-' and
	// '_'. Each Start adds a random suffix, so a node restarted under the
	// same name is a new node whose predecessor's sessions are purged.
	Name string
	// Local delivers stanzas to sessions bound on this node and to anything
	// that is not a session on another node (bare JIDs, channels, remote
	// servers).
	Local host.Router
	// HeartbeatTTL is how long a node counts as alive after its last
	// heartbeat; a dead node's sessions disappear from the others at most
	// about this long after it died. The node beats every HeartbeatTTL/3.
	// Zero means DefaultHeartbeatTTL.
	HeartbeatTTL time.Duration
	// Prefix prefixes the names of the buckets and subjects the nodes
	// share; nodes of one cluster use the same. Empty means "mixpam".
	Prefix string
	// Owned takes what other nodes hand to this node as the owner of a
	// key (ToOwner). Nil means this node takes no owned traffic: only a
	// cluster whose hosts never call ToOwner may leave it nil.
	Owned OwnedHandler
	// Purged, if set, is told the sessions of a dead node once this node
	// has dropped them (Resources no longer lists them): each surviving
	// node is told, so a host acts on the ones it owns. It is called from
	// the goroutine that follows the nodes bucket and must not block long.
	Purged func(ctx context.Context, sessions []jid.JID)
	// Moved, if set, is told when the live nodes change (a node joined or
	// died), with moved, which reports whether a key's owner changed: the
	// host tells the new owners what they must know of its sessions (their
	// presence, say). It is called from the goroutine that follows the
	// nodes bucket, after Purged, and must not block long.
	Moved func(ctx context.Context, moved func(key jid.JID) bool)
	// Logger logs failures that have no caller to return them to (a stanza
	// from another node that could not be delivered). Nil means silent.
	Logger *slog.Logger
}

// DefaultHeartbeatTTL is the heartbeat TTL when Config.HeartbeatTTL is zero.
const DefaultHeartbeatTTL = 3 * time.Second

var validName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Node is one server node of a cluster. It is safe for concurrent use.
type Node struct {
	id    string
	cfg   Config
	log   *slog.Logger
	nc    *nats.Conn
	js    jetstream.JetStream
	sess  jetstream.KeyValue
	nodes jetstream.KeyValue
	reg   *registry
	// exchange matches answers to the IQs this node sends (tagged ids,
	// see exchange.go).
	exchange *host.Exchange
	subs     []*nats.Subscription
	// What this node handed to owners and awaits an acknowledgement for,
	// and the owners that did not answer (owned.go).
	ownedMu  sync.Mutex
	ownedSeq uint64
	pending  map[uint64]pendingOwned
	suspects map[string]time.Time

	closing   atomic.Bool   // Close runs: its own heartbeat's deletion is no eviction
	evicted   chan struct{} // closed when the cluster declared this node dead
	evictOnce sync.Once
	ctx       context.Context // the node's lifetime
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// Start joins the cluster: it creates the shared buckets if they do not
// exist, loads the sessions of every live node, starts the heartbeat and
// subscribes to the node's subject. Call Close to leave.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Conn == nil || cfg.Local == nil {
		return nil, errors.New("cluster: Config needs Conn and Local")
	}
	if !validName.MatchString(cfg.Name) {
		return nil, fmt.Errorf("cluster: node name %q: want 1 to 64 letters, digits, '-' or '_'", cfg.Name)
	}
	if cfg.HeartbeatTTL == 0 {
		cfg.HeartbeatTTL = DefaultHeartbeatTTL
	}
	if cfg.HeartbeatTTL < time.Second {
		return nil, fmt.Errorf("cluster: HeartbeatTTL %v is below NATS' one second", cfg.HeartbeatTTL)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "mixpam"
	}
	if !validName.MatchString(cfg.Prefix) {
		return nil, fmt.Errorf("cluster: prefix %q: want letters, digits, '-' or '_'", cfg.Prefix)
	}
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	n := &Node{
		id:  cfg.Name + "-" + hex.EncodeToString(suffix[:]),
		cfg: cfg,
		log: cfg.Logger,
		nc:  cfg.Conn,

		evicted:  make(chan struct{}),
		pending:  make(map[uint64]pendingOwned),
		suspects: make(map[string]time.Time),
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	if err := n.start(ctx); err != nil {
		n.stop()
		return nil, err
	}
	return n, nil
}

func (n *Node) start(ctx context.Context) error {
	var err error
	n.js, err = jetstream.New(n.nc)
	if err != nil {
		return fmt.Errorf("cluster: jetstream: %w", err)
	}
	n.sess, err = n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:  n.cfg.Prefix + "_sessions",
		History: 1,
	})
	if err != nil {
		return fmt.Errorf("cluster: sessions bucket: %w", err)
	}
	n.nodes, err = n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:         n.cfg.Prefix + "_nodes",
		History:        1,
		TTL:            n.cfg.HeartbeatTTL,
		LimitMarkerTTL: n.cfg.HeartbeatTTL,
	})
	if err != nil {
		return fmt.Errorf("cluster: nodes bucket: %w", err)
	}
	n.reg = newRegistry(n.id)
	n.exchange = host.NewExchange(n)
	handlers := map[string]nats.MsgHandler{
		n.subject(n.id):       n.deliver,
		n.answerSubject(n.id): n.deliverAnswer,
	}
	if n.cfg.Owned != nil {
		handlers[n.ownedSubject(n.id)] = n.deliverOwned
		handlers[n.ackSubject(0)[:len(n.ackSubject(0))-1]+"*"] = n.deliverAck
	}
	for subject, handle := range handlers {
		sub, err := n.nc.Subscribe(subject, handle)
		if err != nil {
			return fmt.Errorf("cluster: subscribing to %s: %w", subject, err)
		}
		n.subs = append(n.subs, sub)
	}
	// Subscribe, and flush so that the subscriptions are in place, before
	// the first heartbeat: once other nodes see this node alive they may
	// hand it its users' traffic (Flush insists on a deadline).
	fctx, cancel := context.WithTimeout(ctx, n.cfg.HeartbeatTTL)
	defer cancel()
	if err := n.nc.FlushWithContext(fctx); err != nil {
		return fmt.Errorf("cluster: subscribing: %w", err)
	}
	// Beat before this node has sessions, so that no other node's sweep
	// takes its first sessions for a dead node's.
	if _, err := n.nodes.PutString(ctx, n.id, n.cfg.Name); err != nil {
		return fmt.Errorf("cluster: first heartbeat: %w", err)
	}
	if err := n.watchNodes(ctx); err != nil {
		return err
	}
	if err := n.watchSessions(ctx); err != nil {
		return err
	}
	n.wg.Go(n.beat)
	n.sweep(ctx)
	return nil
}

// ID returns the node's ID in the cluster: its name and a random suffix.
func (n *Node) ID() string { return n.id }

// Close leaves the cluster: it removes the node's sessions and heartbeat
// from the shared buckets, so the other nodes drop them at once, and stops
// the node. It does not close Config.Conn.
func (n *Node) Close(ctx context.Context) error {
	n.closing.Store(true)
	var errs []error
	for _, key := range n.reg.keysOf(n.id) {
		if err := n.sess.Delete(ctx, key); err != nil {
			errs = append(errs, err)
		}
	}
	if err := n.nodes.Delete(ctx, n.id); err != nil {
		errs = append(errs, err)
	}
	n.stop()
	return errors.Join(errs...)
}

// stop ends the node's goroutines and subscriptions without telling the
// cluster: what a crash looks like to the other nodes, once the heartbeat
// expires.
func (n *Node) stop() {
	n.cancel()
	for _, sub := range n.subs {
		_ = sub.Unsubscribe()
	}
	n.wg.Wait()
}

func (n *Node) subject(node string) string { return n.cfg.Prefix + ".node." + node }
