package c2s

import (
	"mellium.im/sasl"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/examples/memserver/internal/accounts"
	"github.com/mixpam/mixpam/examples/memserver/internal/throttle"
)

// credentialCheck connects one SASL exchange to the account store and
// remembers who authenticated.
type credentialCheck struct {
	accounts *accounts.Store
	domain   string
	guard    *throttle.Guard // nil: no throttling
	addr     string          // the client's address, for guard

	user      string // normalised localpart the client claimed
	known     bool   // user has an account
	badAuthz  bool   // the client asked to act as someone else
	throttled bool   // the account is closed to this address for now
}

// salted is the SCRAM credentials fetcher (sasl.SaltedCredentials).
func (c *credentialCheck) salted(username, identity []byte, mechanism string) ([]byte, []byte, int64, error) {
	if !c.claim(username, identity) {
		return nil, nil, 0, sasl.ErrAuthn
	}
	salt, salted, iter, ok := c.accounts.Salted(c.user, mechanism)
	c.known = ok
	return salt, salted, iter, nil
}

// permit is the PLAIN password check (the sasl.NewServer permissions).
func (c *credentialCheck) permit(n *sasl.Negotiator) bool {
	username, password, identity := n.Credentials()
	if !c.claim(username, identity) {
		return false
	}
	c.known = c.accounts.Verify(c.user, string(password))
	return c.known
}

// claim records the claimed user and reports whether the authorization
// identity, if any, is that user's own bare JID (RFC 6120 §6.3.8).
func (c *credentialCheck) claim(username, identity []byte) bool {
	j, err := jid.New(string(username), c.domain, "")
	if err != nil || len(username) == 0 {
		return false
	}
	c.user = j.Localpart()
	if c.guard != nil && !c.guard.Allowed(c.addr, c.user) {
		// Refused before any password is looked at.
		c.throttled = true
		return false
	}
	if len(identity) == 0 {
		return true
	}
	authz, err := jid.Parse(string(identity))
	if err != nil || !authz.Equal(j) {
		c.badAuthz = true
		return false
	}
	return true
}
