package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/examples/memserver/internal/server"
	"github.com/mixpam/mixpam/pgstore"
)

// openStores sets cfg's roster, archive and blocklist stores as -store says
// (in memory, or in the PostgreSQL database of -pg, migrated first), each
// honouring the archive retention flags, and returns what releases them.
func openStores(ctx context.Context, o options, cfg *server.Config, logger *slog.Logger) (closeStores func(), err error) {
	retention := archive.Retention{MaxRecords: o.archiveMax, MaxAge: o.archiveMaxAge}
	if o.store == "memory" {
		cfg.Archive = archive.NewMemStore(archive.WithRetention(retention))
		return func() {}, nil
	}
	pool, err := pgxpool.New(ctx, o.pg)
	if err != nil {
		return nil, fmt.Errorf("-pg: %w", err)
	}
	if err := pgstore.Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	arch, err := pgstore.NewArchiveStore(pool, pgstore.ArchiveConfig{Retention: retention, Logger: logger})
	if err != nil {
		pool.Close()
		return nil, err
	}
	cfg.Rosters = pgstore.NewRosterStore(pool)
	cfg.Archive = arch
	cfg.Blocks = pgstore.NewBlockStore(pool)
	logger.Info("stores in PostgreSQL", "schema_version", pgstore.SchemaVersion())
	return func() {
		_ = arch.Close()
		pool.Close()
	}, nil
}
