// Package pgstore keeps mixpam's rosters (roster.Store), message archives
// (archive.Store) and blocklists (blocking.Store) in PostgreSQL, on pgx v5,
// so that they survive a restart of the server and can be shared by several
// nodes.
//
// The host owns the connection pool: it passes a *pgxpool.Pool, runs Migrate
// once at start (safe when several nodes start at once), and builds the
// stores on the same pool:
//
//	pool, _ := pgxpool.New(ctx, dsn)
//	if err := pgstore.Migrate(ctx, pool); err != nil { ... }
//	rosters := pgstore.NewRosterStore(pool)
//	blocks := pgstore.NewBlockStore(pool)
//	archive, _ := pgstore.NewArchiveStore(pool, pgstore.ArchiveConfig{})
//	defer archive.Close()
//
// The three stores live in one package because they share one schema, one
// migration sequence and one version table; the core packages (roster,
// archive, blocking, pam) never import this one, so pgx stays out of the
// import graph of a host that does not use PostgreSQL.
//
// Every store passes its conformance kit (roster/rostertest,
// archive/archivetest, blocking/blockingtest) against a real server. Keys are
// text COLLATE "C", so the orders the contracts ask for are Go's byte order.
//
// ArchiveStore commits appends in groups: concurrent Append calls, such as
// the fan-out's one append per recipient of a MIX message (XEP-0405 §2.11),
// share one transaction, and each Append returns once its group committed.
// It honours an archive.Retention in SQL, per owner, through the indexes and
// a per-owner record count, without scanning the table.
package pgstore
