// Package accounts keeps the server's user accounts in memory, with
// passwords stored only salted and hashed as SCRAM needs them (RFC 5802 §3,
// RFC 7677): the server can verify SCRAM-SHA-1, SCRAM-SHA-256 and PLAIN
// without keeping any password.
package accounts

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // SCRAM-SHA-1 is required by RFC 6120 §13.8.
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"hash"
	"sync"

	"mellium.im/sasl"
	"mellium.im/xmpp/jid"
)

// DefaultIterations is the PBKDF2 iteration count of stored credentials
// (RFC 7677 §4 recommends at least 4096).
const DefaultIterations = 4096

// ErrExists is returned by Add for a name that already has an account.
var ErrExists = errors.New("accounts: account exists")

// Store is an in-memory set of accounts, safe for concurrent use. The zero
// value is not usable: call New.
type Store struct {
	iterations int
	// fakeKey derives stable fake salts for unknown users, so that a SCRAM
	// exchange does not reveal which accounts exist.
	fakeKey []byte

	mu    sync.RWMutex
	users map[string]credentials // by localpart
}

// credentials are one account's salted passwords, per hash.
type credentials struct {
	iter   int
	salt   []byte
	sha1   []byte
	sha256 []byte
}

// Option configures a Store.
type Option func(*Store)

// Iterations sets the PBKDF2 iteration count of the passwords added from now
// on. Fewer than DefaultIterations weakens stored passwords: it is meant for
// fuzzing, where every login costs one derivation.
func Iterations(n int) Option { return func(s *Store) { s.iterations = n } }

// New returns an empty store.
func New(opts ...Option) *Store {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails (Go 1.24+).
	s := &Store{iterations: DefaultIterations, fakeKey: key, users: make(map[string]credentials)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Add creates the account name (a localpart, normalised as JIDs are) with
// password.
func (s *Store) Add(name, password string) error {
	local, err := normalise(name)
	if err != nil {
		return err
	}
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	c := credentials{
		iter:   s.iterations,
		salt:   salt,
		sha1:   sasl.SCRAMSaltPassword(sha1.New, []byte(password), salt, s.iterations),
		sha256: sasl.SCRAMSaltPassword(sha256.New, []byte(password), salt, s.iterations),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[local]; ok {
		return ErrExists
	}
	s.users[local] = c
	return nil
}

// Exists reports whether name has an account.
func (s *Store) Exists(name string) bool {
	local, err := normalise(name)
	if err != nil {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.users[local]
	return ok
}

// Verify reports whether password is name's password (SASL PLAIN).
func (s *Store) Verify(name, password string) bool {
	local, err := normalise(name)
	if err != nil {
		return false
	}
	s.mu.RLock()
	c, ok := s.users[local]
	s.mu.RUnlock()
	if !ok {
		// Hash all the same, so that the time taken does not tell whether
		// the account exists (SCRAM hides it with fake salts, see Salted).
		salt, _, iter, _ := s.Salted(name, "SCRAM-SHA-256")
		sasl.SCRAMSaltPassword(sha256.New, []byte(password), salt, int(iter))
		return false
	}
	got := sasl.SCRAMSaltPassword(sha256.New, []byte(password), c.salt, c.iter)
	return subtle.ConstantTimeCompare(got, c.sha256) == 1
}

// Salted returns the SCRAM credentials of name for mechanism (SCRAM-SHA-1 or
// SCRAM-SHA-256). For an unknown name it returns a stable fake salt and a
// random salted password, so the exchange fails only at the proof, exactly
// as with a wrong password. ok reports whether the account exists.
func (s *Store) Salted(name, mechanism string) (salt, salted []byte, iterations int64, ok bool) {
	local, err := normalise(name)
	if err == nil {
		s.mu.RLock()
		c, found := s.users[local]
		s.mu.RUnlock()
		if found {
			if mechanism == sasl.ScramSha1.Name {
				return c.salt, c.sha1, int64(c.iter), true
			}
			return c.salt, c.sha256, int64(c.iter), true
		}
	}
	mac := hmac.New(sha256.New, s.fakeKey)
	mac.Write([]byte(name))
	fake := make([]byte, hashFor(mechanism)().Size())
	_, _ = rand.Read(fake)
	return mac.Sum(nil)[:16], fake, int64(s.iterations), false
}

func hashFor(mechanism string) func() hash.Hash {
	if mechanism == sasl.ScramSha1.Name {
		return sha1.New
	}
	return sha256.New
}

// normalise applies the JID localpart profile (RFC 7622 §3.3) to name.
func normalise(name string) (string, error) {
	j, err := jid.New(name, "localhost", "")
	if err != nil || name == "" {
		return "", errors.New("accounts: invalid account name")
	}
	return j.Localpart(), nil
}
