package main

import (
	"context"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // XEP-0114 §3 defines the handshake with SHA-1.
	"crypto/subtle"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stream"
)

// nsComponent is the stream namespace of XEP-0114 components.
const nsComponent = "jabber:component:accept"

// serveComponent accepts an XEP-0114 component (such as a MIX service) and
// delivers what it sends until it hangs up.
// mellium's component package only connects components (its receiving side
// panics "not yet implemented"), so acceptComponent is the handshake, run
// as a mellium Negotiator.
func (s *server) serveComponent(conn net.Conn) {
	defer conn.Close()
	var domain string
	_ = conn.SetDeadline(time.Now().Add(negotiationTimeout))
	sess, err := xmpp.NewSession(s.ctx, jid.JID{}, jid.JID{}, conn, xmpp.Received, s.acceptComponent(&domain))
	if err != nil {
		s.log.Debug("component handshake failed", "addr", conn.RemoteAddr().String(), "err", err)
		return
	}
	_ = conn.SetDeadline(time.Time{})
	// The component is told it is in (XEP-0114 §3) by the first stanza
	// queued, once its domain is routed to it.
	p := s.newPeer()
	p.q <- []byte(`<handshake/>`)
	s.mu.Lock()
	taken := s.peers[domain] != nil
	if !taken {
		s.peers[domain] = p
	}
	s.mu.Unlock()
	if taken {
		p.cancel()
		_ = sess.Close()
		return
	}
	defer s.start(domain, p, sess)()
	s.log.Debug("component connected", "domain", domain)
	r := sess.TokenReader()
	defer r.Close()
	for {
		start, err := nextStart(r)
		if err != nil {
			return
		}
		rest := inner(r)
		// A component speaks for its domain only, and addresses what it sends.
		if addr(start, "from").Domainpart() == domain && addr(start, "to").String() != "" {
			if err := s.deliver(p.ctx, start, rest); err != nil {
				s.log.Debug("stanza from component", "domain", domain, "err", err)
			}
		}
		if _, err := xmlstream.Copy(xmlstream.Discard(), rest); err != nil {
			return
		}
	}
}

// acceptComponent is the receiving side of the XEP-0114 §3 handshake: the
// component names its domain in the stream header, the server answers with
// a stream id, and the component sends hex(SHA-1(id + secret)).
func (s *server) acceptComponent(domain *string) xmpp.Negotiator {
	return func(_ context.Context, in, out *stream.Info, sess *xmpp.Session, _ any) (xmpp.SessionState, io.ReadWriter, any, error) {
		r := sess.TokenReader()
		defer r.Close()
		header, err := nextStart(r)
		if err != nil {
			return 0, nil, nil, err
		}
		to := addr(header, "to").String()
		secret, known := s.secrets[to]
		id := rand.Text()
		if _, err := fmt.Fprintf(sess.Conn(), `<?xml version='1.0'?><stream:stream xmlns='%s' xmlns:stream='%s' from='%s' id='%s'>`,
			nsComponent, stream.NS, xmlEscape(to), id); err != nil {
			return 0, nil, nil, err
		}
		in.XMLNS, out.XMLNS = nsComponent, nsComponent
		hs, err := nextStart(r)
		if err != nil {
			return 0, nil, nil, err
		}
		var proof string
		if hs.Name.Local == "handshake" {
			if tok, err := r.Token(); err == nil {
				if cd, ok := tok.(xml.CharData); ok {
					proof = strings.TrimSpace(string(cd))
				}
			}
		}
		sum := sha1.Sum([]byte(id + secret)) //nolint:gosec // see the import
		if !known || subtle.ConstantTimeCompare([]byte(proof), []byte(hex.EncodeToString(sum[:]))) != 1 {
			_, _ = io.WriteString(sess.Conn(), `<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`)
			return 0, nil, nil, errors.New("melliumserver: component handshake refused")
		}
		if _, err := xmlstream.Copy(xmlstream.Discard(), xmlstream.Inner(r)); err != nil {
			return 0, nil, nil, err
		}
		*domain = to // serveComponent sends <handshake/> once it routes to it
		return xmpp.Ready | xmpp.Authn | xmpp.Secure, nil, nil, nil
	}
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
