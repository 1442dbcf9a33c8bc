package c2s

import (
	"crypto/tls"

	"mellium.im/xmpp/stream"

	"github.com/mixpam/mixpam/examples/memserver/internal/wire"
)

// startTLS answers <starttls/> (RFC 6120 §5.4.2) and upgrades the
// connection. The client must send nothing between <starttls/> and the
// handshake: bytes already buffered would be taken as if TLS had protected
// them (RFC 6120 §5.4.3.3), so they end the stream.
func (n *negotiation) startTLS() error {
	if n.r.Buffered() > 0 {
		return &wire.Error{Cond: stream.PolicyViolation, Text: "data sent after <starttls/> before the TLS handshake"}
	}
	if err := n.write([]byte(`<proceed xmlns="` + nsTLS + `"/>`)); err != nil {
		return err
	}
	tc := tls.Server(n.conn, n.cfg.TLS)
	if err := tc.Handshake(); err != nil {
		return err
	}
	n.conn = tc
	n.r.Reset(tc)
	n.secure = true
	return nil
}
