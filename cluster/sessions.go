package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
)

// entry is a session as stored in the sessions bucket.
type entry struct {
	Node       string `json:"node"`
	JID        string `json:"jid"`
	MIXCapable bool   `json:"mix,omitempty"`
	Annotate   bool   `json:"annotate,omitempty"`
	Interested bool   `json:"interested,omitempty"`
	Blocklist  bool   `json:"blocklist,omitempty"`
	Available  bool   `json:"available,omitempty"`
	Priority   int8   `json:"priority,omitempty"`
}

func (e entry) resource() (host.Resource, error) {
	j, err := jid.Parse(e.JID)
	if err != nil {
		return host.Resource{}, err
	}
	return host.Resource{JID: j, MIXCapable: e.MIXCapable, Annotate: e.Annotate,
		Interested: e.Interested, BlocklistRequested: e.Blocklist, Available: e.Available, Priority: e.Priority}, nil
}

func entryOf(node string, r host.Resource) entry {
	return entry{Node: node, JID: r.JID.String(), MIXCapable: r.MIXCapable, Annotate: r.Annotate,
		Interested: r.Interested, Blocklist: r.BlocklistRequested, Available: r.Available, Priority: r.Priority}
}

// sessionKey returns the bucket key of a session: its full JID in unpadded
// base64url, since JIDs hold characters that keys may not.
func sessionKey(session jid.JID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(session.String()))
}

// Resources implements host.Sessions: a copy of the node's local copy of
// the user's sessions, on every node of the cluster.
func (n *Node) Resources(ctx context.Context, user jid.JID) ([]host.Resource, error) {
	return n.AppendResources(ctx, nil, user)
}

// AppendResources implements host.ResourceAppender.
func (n *Node) AppendResources(_ context.Context, dst []host.Resource, user jid.JID) ([]host.Resource, error) {
	return n.reg.appendResources(dst, user), nil
}

// Resource returns the session with the given full JID, bound on any node.
func (n *Node) Resource(session jid.JID) (host.Resource, bool) {
	r, _, ok := n.reg.lookup(session)
	return r, ok
}

// Add registers a session bound on this node, replacing any session with the
// same full JID (on any node). When it returns, this node lists the session;
// the other nodes list it once their watches deliver it (about a
// millisecond on one machine).
func (n *Node) Add(ctx context.Context, r host.Resource) error {
	rev, err := n.put(ctx, r)
	if err != nil {
		return err
	}
	return n.reg.waitApplied(ctx, rev)
}

func (n *Node) put(ctx context.Context, r host.Resource) (uint64, error) {
	val, err := json.Marshal(entryOf(n.id, r))
	if err != nil {
		return 0, err
	}
	rev, err := n.sess.Put(ctx, sessionKey(r.JID), val)
	if err != nil {
		return 0, fmt.Errorf("cluster: storing session %s: %w", r.JID, err)
	}
	return rev, nil
}

// Remove unregisters the session with the given full JID and reports whether
// it was online.
func (n *Node) Remove(ctx context.Context, session jid.JID) (bool, error) {
	if _, _, ok := n.reg.lookup(session); !ok {
		return false, nil
	}
	rev, err := n.deleteKey(ctx, sessionKey(session), 0)
	if err != nil {
		return false, fmt.Errorf("cluster: removing session %s: %w", session, err)
	}
	return true, n.reg.waitApplied(ctx, rev)
}

// deleteKey puts a delete marker for key in the sessions bucket, as
// KeyValue.Delete does, but returns the marker's revision so that the caller
// can wait for its copy to apply it. With last non-zero, it deletes only if
// the key's latest revision is last.
func (n *Node) deleteKey(ctx context.Context, key string, last uint64) (uint64, error) {
	msg := nats.NewMsg("$KV." + n.cfg.Prefix + "_sessions." + key)
	msg.Header.Set("KV-Operation", "DEL")
	var opts []jetstream.PublishOpt
	if last != 0 {
		opts = append(opts, jetstream.WithExpectLastSequencePerSubject(last))
	}
	ack, err := n.js.PublishMsg(ctx, msg, opts...)
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// SetMIXCapable implements host.FlagSetter.
func (n *Node) SetMIXCapable(ctx context.Context, session jid.JID, capable bool) error {
	return n.update(ctx, session, func(r *host.Resource) { r.MIXCapable = capable })
}

// SetAnnotate implements host.FlagSetter: it sets Annotate, and Interested.
func (n *Node) SetAnnotate(ctx context.Context, session jid.JID, annotate bool) error {
	return n.update(ctx, session, func(r *host.Resource) { r.Annotate, r.Interested = annotate, true })
}

// SetBlocklistRequested implements host.FlagSetter: it sets
// BlocklistRequested.
func (n *Node) SetBlocklistRequested(ctx context.Context, session jid.JID) error {
	return n.update(ctx, session, func(r *host.Resource) { r.BlocklistRequested = true })
}

// SetPresence records a session's broadcast presence: available with the
// given priority, or unavailable.
func (n *Node) SetPresence(ctx context.Context, session jid.JID, available bool, priority int8) error {
	return n.update(ctx, session, func(r *host.Resource) { r.Available, r.Priority = available, priority })
}

// maxUpdateTries bounds the compare-and-set retries of update.
const maxUpdateTries = 16

// update changes a session's entry by compare-and-set on the bucket, so that
// concurrent updates of one session (from any node) are never lost.
func (n *Node) update(ctx context.Context, session jid.JID, f func(*host.Resource)) error {
	key := sessionKey(session)
	for range maxUpdateTries {
		cur, err := n.sess.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			return host.ErrNoSession
		}
		if err != nil {
			return fmt.Errorf("cluster: reading session %s: %w", session, err)
		}
		var e entry
		if err := json.Unmarshal(cur.Value(), &e); err != nil {
			return fmt.Errorf("cluster: session %s: %w", session, err)
		}
		r, err := e.resource()
		if err != nil {
			return fmt.Errorf("cluster: session %s: %w", session, err)
		}
		f(&r)
		val, err := json.Marshal(entryOf(e.Node, r))
		if err != nil {
			return err
		}
		rev, err := n.sess.Update(ctx, key, val, cur.Revision())
		if errors.Is(err, jetstream.ErrKeyExists) {
			continue // changed meanwhile: read again
		}
		if err != nil {
			return fmt.Errorf("cluster: updating session %s: %w", session, err)
		}
		return n.reg.waitApplied(ctx, rev)
	}
	return fmt.Errorf("cluster: updating session %s: %d concurrent changes in a row", session, maxUpdateTries)
}

// watchSessions loads the sessions bucket into the registry and keeps the
// registry up to date until the node stops.
func (n *Node) watchSessions(ctx context.Context) error {
	w, err := n.sess.WatchAll(n.ctx)
	if err != nil {
		return fmt.Errorf("cluster: watching sessions: %w", err)
	}
	return n.watch(ctx, w, n.applySession, nil, n.applySession)
}

func (n *Node) applySession(e jetstream.KeyValueEntry) {
	raw, err := base64.RawURLEncoding.DecodeString(e.Key())
	session, perr := jid.Parse(string(raw))
	if err != nil || perr != nil {
		n.log.Warn("cluster: session key that is no JID", "key", e.Key())
		n.reg.advanceTo(e.Revision())
		return
	}
	if e.Operation() != jetstream.KeyValuePut {
		n.reg.remove(session, e.Revision())
		return
	}
	var v entry
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		n.log.Warn("cluster: unreadable session entry", "session", session, "err", err)
		n.reg.advanceTo(e.Revision())
		return
	}
	r, err := v.resource()
	if err != nil || !r.JID.Equal(session) {
		n.log.Warn("cluster: session entry for another JID", "session", session, "jid", v.JID)
		n.reg.advanceTo(e.Revision())
		return
	}
	m := sessionMeta{key: e.Key(), node: v.Node, rev: e.Revision()}
	if !n.reg.put(r, m) {
		// A late entry of a node already purged.
		n.wg.Go(func() { n.deleteStale([]sessionMeta{m}) })
	}
}
