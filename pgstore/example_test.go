package pgstore_test

import (
	"context"
	"log"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/pgstore"
)

// A host opens its pool, migrates the schema once at start (several nodes
// may do so at once) and builds the stores it wires into mixpam's handlers.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	if err := pgstore.Migrate(ctx, pool); err != nil {
		log.Fatal(err)
	}
	rosters := pgstore.NewRosterStore(pool)
	blocks := pgstore.NewBlockStore(pool)
	archives, err := pgstore.NewArchiveStore(pool, pgstore.ArchiveConfig{
		Retention: archive.Retention{MaxRecords: 100_000},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer archives.Close()
	_, _ = rosters, blocks // roster.NewHandler(rosters, …), blocking.NewHandler(blocks, …), pam.FanOutConfig{Archive: archives, …}
}
