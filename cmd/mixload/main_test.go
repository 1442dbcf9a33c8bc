package main

import (
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/internal/mixload"
)

func TestParseAccounts(t *testing.T) {
	got, err := parseAccounts("load%d", "pw", 5, 2)
	require.NoError(t, err)
	require.Equal(t, []mixload.Account{{User: "load5", Password: "pw"}, {User: "load6", Password: "pw"}}, got)
	got, err = parseAccounts("alice:a:b,bob:c", "", 1, 2)
	require.NoError(t, err)
	require.Equal(t, []mixload.Account{{User: "alice", Password: "a:b"}, {User: "bob", Password: "c"}}, got)
	for _, bad := range []string{"alice", "alice:a,:b"} {
		_, err := parseAccounts(bad, "", 1, 1)
		require.Error(t, err, bad)
	}
	_, err = parseAccounts("load%d", "", 1, 1)
	require.Error(t, err, "a pattern needs -password")
}

// TestRunRefusesBadFlags: errors come before any connection.
func TestRunRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-addr", "192.0.2.1:5222", "-password", "x"},
		{"-password", "x", "-resources", "3"},
		{"-password", "x", "-messages", "2000000"},
		{"-password", "x", "-tls", "maybe"},
		{"-password", "x", "extra"},
	} {
		require.Error(t, run(context.Background(), args, io.Discard, io.Discard), args)
	}
}
