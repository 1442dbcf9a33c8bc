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
	"mellium.im/xmpp/stanza"
	"mellium.im/xmpp/stream"
)

// nsComponent is the stream namespace of XEP-0114 components.
const nsComponent = "jabber:component:accept"

// serveComponent accepts an XEP-0114 component (such as a MIX service) and
// routes what it sends until it hangs up. mellium's component package only
// connects components (its receiving side panics "not yet implemented"),
// so acceptComponent is the handshake, run as a mellium Negotiator.
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
	s.mu.Lock()
	if s.components[domain] != nil {
		s.mu.Unlock()
		_ = sess.Close()
		return
	}
	s.components[domain] = sess
	// Only now, with the domain routed to it, is the component told it is
	// in (XEP-0114 §3): what it sends next may already get answers.
	_, err = io.WriteString(conn, `<handshake/>`)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.components, domain)
		s.mu.Unlock()
		_ = sess.Close()
	}()
	if err != nil {
		return
	}
	s.log.Debug("component connected", "domain", domain)
	go func() { <-s.ctx.Done(); _ = conn.Close() }()

	r := sess.TokenReader()
	defer r.Close()
	for {
		tok, err := r.Token()
		if err != nil {
			return
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		toks, err := collect(xmlstream.Inner(r))
		if err != nil {
			return
		}
		s.fromComponent(s.ctx, domain, start, toks)
	}
}

// fromComponent routes a stanza from a component, whose from must be in
// its domain.
func (s *server) fromComponent(ctx context.Context, domain string, start xml.StartElement, toks []xml.Token) {
	from, err := jid.Parse(attr(start, "from"))
	to, err2 := jid.Parse(attr(start, "to"))
	if err != nil || err2 != nil || from.Domainpart() != domain {
		return
	}
	if err := s.Route(ctx, to, replay(whole(start, toks))); err != nil && start.Name.Local == "iq" {
		if iq, _ := stanza.NewIQ(start); iq.Type == stanza.GetIQ || iq.Type == stanza.SetIQ {
			s.routeError(ctx, iq, stanza.ServiceUnavailable)
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
		to := attr(header, "to")
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

// nextStart returns the next start element of r, skipping the XML
// declaration and whitespace.
func nextStart(r xml.TokenReader) (xml.StartElement, error) {
	for {
		tok, err := r.Token()
		if err != nil {
			return xml.StartElement{}, err
		}
		if start, ok := tok.(xml.StartElement); ok {
			return start, nil
		}
	}
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
