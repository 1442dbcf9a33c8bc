package accounts_test

import (
	"crypto/sha256"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/sasl"

	"github.com/mixpam/mixpam/examples/memserver/internal/accounts"
)

func TestStore(t *testing.T) {
	s := accounts.New()
	require.NoError(t, s.Add("Alice", "secret"))
	require.ErrorIs(t, s.Add("alice", "other"), accounts.ErrExists, "names are case-folded as localparts")
	require.Error(t, s.Add("", "x"))
	require.Error(t, s.Add("a@b", "x"))

	require.True(t, s.Exists("ALICE"))
	require.True(t, s.Verify("alice", "secret"))
	require.False(t, s.Verify("alice", "Secret"))
	require.False(t, s.Verify("bob", "secret"))

	// SCRAM: the stored salted password is PBKDF2(password, salt).
	salt, salted, iter, ok := s.Salted("alice", sasl.ScramSha256.Name)
	require.True(t, ok)
	require.EqualValues(t, accounts.DefaultIterations, iter)
	require.Equal(t, sasl.SCRAMSaltPassword(sha256.New, []byte("secret"), salt, int(iter)), salted)

	// Unknown users get a stable salt, so that probing reveals nothing.
	salt1, _, _, ok := s.Salted("mallory", sasl.ScramSha1.Name)
	require.False(t, ok)
	salt2, _, _, _ := s.Salted("mallory", sasl.ScramSha1.Name)
	require.Equal(t, salt1, salt2)
}

func TestRandomPassword(t *testing.T) {
	a, b := accounts.RandomPassword(12), accounts.RandomPassword(12)
	require.Len(t, a, 12)
	require.NotEqual(t, a, b)
}
