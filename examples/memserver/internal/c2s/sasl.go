package c2s

import (
	"encoding/base64"
	"fmt"

	"mellium.im/sasl"
	"mellium.im/xmpp/stream"

	"github.com/mixpam/mixpam/examples/memserver/internal/throttle"
	"github.com/mixpam/mixpam/examples/memserver/internal/wire"
)

// maxAuthAttempts is how many failed authentications a stream may have
// before it is closed (RFC 6120 §6.4.5 lets the server limit retries).
const maxAuthAttempts = 3

// SASL failure conditions (RFC 6120 §6.5).
const (
	saslAborted           = "aborted"
	saslIncorrectEncoding = "incorrect-encoding"
	saslInvalidAuthzID    = "invalid-authzid"
	saslInvalidMechanism  = "invalid-mechanism"
	saslMalformedRequest  = "malformed-request"
	saslNotAuthorized     = "not-authorized"
	saslTemporaryFailure  = "temporary-auth-failure"
)

// auth handles one element while the client is not authenticated. done
// reports a successful authentication (the stream restarts).
func (n *negotiation) auth(el wire.Element) (done bool, err error) {
	if el.Start.Name.Space != nsSASL {
		return false, &wire.Error{Cond: stream.NotAuthorized, Text: "authenticate first"}
	}
	if !el.Is(nsSASL, "auth") {
		return false, n.saslFailure(saslMalformedRequest, "expected <auth/>")
	}
	user, err := n.exchange(el)
	if err != nil {
		return false, err
	}
	if user == "" {
		return false, nil
	}
	n.user = user
	n.r.SetLimits(n.cfg.Limits)
	n.r.Restart()
	n.log("authenticated", "user", user)
	return true, nil
}

// exchange runs one SASL exchange started by <auth/> (RFC 6120 §6.4.2–6.4.6)
// and returns the authenticated localpart, or "" after a failure the client
// may retry.
func (n *negotiation) exchange(auth wire.Element) (string, error) {
	var mech sasl.Mechanism
	for _, m := range mechanisms() {
		if m.Name == auth.Attr("mechanism") {
			mech = m
		}
	}
	if mech.Name == "" {
		return "", n.saslFailure(saslInvalidMechanism, "offered: SCRAM-SHA-256, SCRAM-SHA-1, PLAIN")
	}
	if err := n.refused(); err != nil {
		return "", err
	}

	cred := credentialCheck{accounts: n.cfg.Accounts, domain: n.cfg.Domain, guard: n.cfg.Guard, addr: n.addr}
	server := sasl.NewServer(mech, cred.permit, sasl.SaltedCredentials(cred.salted))

	payload := auth.Text()
	if payload == "" {
		// No initial response: ask for one with an empty challenge (RFC 6120
		// §6.4.2).
		el, err := n.challenge(nil)
		if err != nil || el == nil {
			return "", err
		}
		payload = el.Text()
	}
	for {
		data, ok := decode64(payload)
		if !ok {
			return "", n.saslFailure(saslIncorrectEncoding, "the payload is not base64")
		}
		more, resp, err := step(server, data)
		switch {
		case cred.badAuthz:
			return "", n.saslFailure(saslInvalidAuthzID, "you may only authorize as yourself")
		case cred.throttled:
			return "", n.saslFailure(saslTemporaryFailure, "too many failed attempts for this account; try again later")
		case err != nil:
			return "", n.wrongCredentials(cred.user)
		case !more:
			if !cred.known {
				return "", n.wrongCredentials(cred.user)
			}
			// Additional data with success, if any (RFC 6120 §6.4.6): SCRAM's
			// server signature.
			b := append(n.out[:0], `<success xmlns="`+nsSASL+`">`...)
			if len(resp) > 0 {
				b = append(b, base64.StdEncoding.EncodeToString(resp)...)
			}
			n.out = append(b, "</success>"...)
			return cred.user, n.write(n.out)
		}
		el, err := n.challenge(resp)
		if err != nil || el == nil {
			return "", err
		}
		payload = el.Text()
	}
}

// refused returns the stream error that ends the stream of a client whose
// address has too many failed authentications (as ejabberd's mod_fail2ban
// does, with policy-violation).
func (n *negotiation) refused() error {
	if n.cfg.Guard == nil {
		return nil
	}
	if banned, until := n.cfg.Guard.AddrBanned(n.addr); banned {
		return &wire.Error{Cond: stream.PolicyViolation, Text: throttle.BanText(n.addr, until)}
	}
	return nil
}

// wrongCredentials answers a wrong password or unknown user: not-authorized
// (the same for both, RFC 6120 §6.5.10), counted by the Guard and logged at
// info with the address.
func (n *negotiation) wrongCredentials(user string) error {
	n.logFailure("authentication failed", user)
	// Counted before the client hears of it, so its next attempt sees
	// the count.
	banned := n.cfg.Guard != nil && n.cfg.Guard.Fail(n.addr, user)
	if err := n.saslFailure(saslNotAuthorized, "authentication failed"); err != nil {
		return err
	}
	if banned {
		n.logFailure("address refused after too many failed authentications", user)
		return n.refused()
	}
	return nil
}

func (n *negotiation) logFailure(msg, user string) {
	if n.cfg.Logger != nil {
		n.cfg.Logger.Info(msg, "remote", n.addr, "user", user)
	}
}

// challenge sends a challenge and reads the client's <response/>. It
// returns a nil element (and nil error) when the client aborted.
func (n *negotiation) challenge(data []byte) (*wire.Element, error) {
	b := append(n.out[:0], `<challenge xmlns="`+nsSASL+`">`...)
	b = append(b, encode64(data)...)
	n.out = append(b, "</challenge>"...)
	if err := n.write(n.out); err != nil {
		return nil, err
	}
	el, err := n.r.Next()
	switch {
	case err != nil:
		return nil, err
	case el.Is(nsSASL, "abort"):
		return nil, n.saslFailure(saslAborted, "")
	case !el.Is(nsSASL, "response"):
		return nil, n.saslFailure(saslMalformedRequest, "expected <response/>")
	}
	return &el, nil
}

// saslFailure sends <failure/> (RFC 6120 §6.4.5). After maxAuthAttempts
// failures it returns the stream error that ends the stream.
func (n *negotiation) saslFailure(cond, text string) error {
	b := append(n.out[:0], `<failure xmlns="`+nsSASL+`"><`+cond+`/>`...)
	if text != "" {
		b = append(b, "<text>"+text+"</text>"...)
	}
	n.out = append(b, "</failure>"...)
	if err := n.write(n.out); err != nil {
		return err
	}
	n.failures++
	if n.failures >= maxAuthAttempts {
		return &wire.Error{Cond: stream.PolicyViolation, Text: "too many failed authentication attempts"}
	}
	return nil
}

// step runs one SASL step, turning a panic in the mechanism into an error:
// the input is hostile and the mechanism is third-party code.
func step(s *sasl.Negotiator, data []byte) (more bool, resp []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			more, resp, err = false, nil, fmt.Errorf("c2s: sasl step panicked: %v", r)
		}
	}()
	return s.Step(data)
}

// decode64 decodes a SASL payload; "=" is the empty payload (RFC 6120
// §6.4.2).
func decode64(s string) ([]byte, bool) {
	if s == "=" {
		return []byte{}, true
	}
	b, err := base64.StdEncoding.DecodeString(s)
	return b, err == nil
}

// encode64 encodes challenge data; "=" is zero-length data.
func encode64(b []byte) string {
	if len(b) == 0 {
		return "="
	}
	return base64.StdEncoding.EncodeToString(b)
}
