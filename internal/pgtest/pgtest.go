// Package pgtest gives each test its own PostgreSQL schema on the server
// named by MIXPAM_PG_DSN, which .ci/run (through .ci/postgres) starts. A test
// skips when the variable is unset, unless MIXPAM_REQUIRE_PG=1, where the
// skip would hide a failure and so fails the test instead.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// Environment variables read by this package.
const (
	// EnvDSN is the connection string of the test server.
	EnvDSN = "MIXPAM_PG_DSN"
	// EnvRequire, set to 1, turns a missing EnvDSN into a failure.
	EnvRequire = "MIXPAM_REQUIRE_PG"
)

// Schema creates a fresh, empty schema for t, dropped when t ends, and
// returns a connection string whose connections use it (as their
// search_path). It skips t, or fails it under MIXPAM_REQUIRE_PG=1, when
// MIXPAM_PG_DSN is unset.
func Schema(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%s is unset but %s=1: start PostgreSQL with .ci/postgres", EnvDSN, EnvRequire)
		}
		t.Skipf("%s is unset: no PostgreSQL to test against (see .ci/postgres)", EnvDSN)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err, "connect to %s", EnvDSN)
	defer admin.Close(ctx)
	_, err = admin.Exec(ctx, `CREATE SCHEMA `+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(dsn)
	require.NoError(t, err, "%s must be a URL", EnvDSN)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Pool returns a pool on a fresh schema of its own (see Schema), closed
// when t ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	dsn := Schema(t)
	pool, err := pgxpool.New(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}
