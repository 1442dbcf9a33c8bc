package pgstore

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/archive"
)

// Defaults of ArchiveConfig.
const (
	// DefaultMaxBatch is the most appends committed in one transaction.
	DefaultMaxBatch = 256
	// DefaultCommitters is the number of transactions committing appends
	// at once. One gives the fullest batches: the appends that arrive
	// while it commits make the next one. On the 2-core machine of
	// docs/performance.md it also gave the most appends per second.
	DefaultCommitters = 1
	// commitTimeout bounds one group commit, whoever waits for it.
	commitTimeout = 30 * time.Second
)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("pgstore: archive store closed")

// ArchiveConfig configures an ArchiveStore. The zero value is usable.
type ArchiveConfig struct {
	// Retention is the policy applied to an owner's archive in the
	// transaction of every group commit that appends to it.
	Retention archive.Retention
	// MaxBatch is the most appends one transaction commits; 0 means
	// DefaultMaxBatch, 1 commits every append on its own.
	MaxBatch int
	// MaxWait is how long a committer with a batch not yet full waits for
	// more appends before committing. 0 commits at once what is queued:
	// appends that arrive while the committers are busy form the next
	// batches, so batches grow with the load without adding latency.
	MaxWait time.Duration
	// Committers is the number of batches committed at once; 0 means
	// DefaultCommitters.
	Committers int
	// Logger receives failed commits at warning level; nil discards logs.
	Logger *slog.Logger
	// Now is the clock of Retention.MaxAge; nil means time.Now.
	Now func() time.Time
}

// ArchiveStore is an archive.Store in the tables archive and archive_owner,
// with group commit: concurrent Append calls are batched into one
// transaction, and each returns once its batch committed (or failed). Query
// reads one snapshot. Close stops the committers. It is safe for concurrent
// use, also from several nodes.
type ArchiveStore struct {
	pool *pgxpool.Pool
	cfg  ArchiveConfig
	log  *slog.Logger

	queue     chan *appendReq // unbuffered: waiting senders form the next batch
	stop      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup

	commits, appends atomic.Int64
}

// ArchiveStats counts an ArchiveStore's group commits.
type ArchiveStats struct {
	// Commits is the number of batches committed.
	Commits int64
	// Appends is the number of appends those batches held.
	Appends int64
}

// Stats returns the store's counts so far: Appends/Commits is the mean
// batch size.
func (s *ArchiveStore) Stats() ArchiveStats {
	return ArchiveStats{Commits: s.commits.Load(), Appends: s.appends.Load()}
}

// appendReq is one Append waiting for its batch.
type appendReq struct {
	owner string
	rec   archive.Record // With bare, Stanza owned by the request
	done  chan error     // buffered: the committer never blocks on it
}

// NewArchiveStore returns an ArchiveStore on pool, whose database Migrate
// has brought to SchemaVersion, and starts its committers. Call Close when
// done with it.
func NewArchiveStore(pool *pgxpool.Pool, cfg ArchiveConfig) (*ArchiveStore, error) {
	if err := cfg.Retention.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxBatch < 0 || cfg.MaxWait < 0 || cfg.Committers < 0 {
		return nil, errors.New("pgstore: ArchiveConfig limits must not be negative")
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.Committers == 0 {
		cfg.Committers = DefaultCommitters
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &ArchiveStore{pool: pool, cfg: cfg, log: cfg.Logger, queue: make(chan *appendReq), stop: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for range cfg.Committers {
		s.wg.Go(s.commitLoop)
	}
	return s, nil
}

// Close stops the committers after the batches in progress; Appends still
// waiting to join a batch return ErrClosed. It does not close the pool.
func (s *ArchiveStore) Close() error {
	s.closeOnce.Do(func() { close(s.stop) })
	s.wg.Wait()
	return nil
}

// Append implements archive.Store. It returns nil once the transaction
// holding rec committed; when ctx ends first it returns ctx's error, and
// the record may still be committed (Append is idempotent on rec.ID, so the
// caller may append it again).
func (s *ArchiveStore) Append(ctx context.Context, owner jid.JID, rec archive.Record) error {
	rec.With = rec.With.Bare()
	rec.Stanza = append([]byte(nil), rec.Stanza...)
	req := &appendReq{owner: owner.Bare().String(), rec: rec, done: make(chan error, 1)}
	select {
	case s.queue <- req:
	case <-s.stop:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// commitLoop takes batches off the queue and commits them until Close.
func (s *ArchiveStore) commitLoop() {
	batch := make([]*appendReq, 0, s.cfg.MaxBatch)
	var timer *time.Timer
	for {
		select {
		case req := <-s.queue:
			batch = append(batch[:0], req)
		case <-s.stop:
			return
		}
		batch, timer = s.fill(batch, timer)
		err := s.commit(batch)
		if err != nil {
			s.log.Warn("mixpam: archive group commit failed", "appends", len(batch), "err", err)
		} else {
			s.commits.Add(1)
			s.appends.Add(int64(len(batch)))
		}
		for i, req := range batch {
			req.done <- err
			batch[i] = nil
		}
	}
}

// fill adds to batch the appends already waiting, up to MaxBatch, and then,
// with MaxWait, those arriving within MaxWait.
func (s *ArchiveStore) fill(batch []*appendReq, timer *time.Timer) ([]*appendReq, *time.Timer) {
	for len(batch) < s.cfg.MaxBatch {
		select {
		case req := <-s.queue:
			batch = append(batch, req)
			continue
		default:
		}
		break
	}
	if s.cfg.MaxWait <= 0 || len(batch) >= s.cfg.MaxBatch {
		return batch, timer
	}
	if timer == nil {
		timer = time.NewTimer(s.cfg.MaxWait)
	} else {
		timer.Reset(s.cfg.MaxWait)
	}
	defer timer.Stop()
	for len(batch) < s.cfg.MaxBatch {
		select {
		case req := <-s.queue:
			batch = append(batch, req)
		case <-timer.C:
			return batch, timer
		case <-s.stop:
			return batch, timer
		}
	}
	return batch, timer
}
