package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	mdisco "mellium.im/xmpp/disco"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/ns"
)

// serveClient negotiates a client stream (STARTTLS, SASL PLAIN, bind) with
// mellium and serves it until it ends.
func (s *server) serveClient(conn net.Conn) {
	defer conn.Close()
	var user string
	var bound jid.JID
	var p *peer
	features := []xmpp.StreamFeature{
		xmpp.StartTLS(s.tls),
		xmpp.SASLServer(func(n *sasl.Negotiator) bool {
			name, password, identity := n.Credentials()
			want, ok := s.users[string(name)]
			if !ok || len(identity) > 0 && string(identity) != string(name) || subtle.ConstantTimeCompare([]byte(want), password) != 1 {
				return false
			}
			user = string(name) // mellium forgets it after SASL: bind needs it
			return true
		}, sasl.Plain),
		xmpp.BindCustom(func(_ jid.JID, resource string) (jid.JID, error) {
			var err error
			bound, p, err = s.bind(user, resource)
			return bound, err
		}),
	}
	_ = conn.SetDeadline(time.Now().Add(negotiationTimeout))
	sess, err := xmpp.ReceiveSession(s.ctx, conn, 0, xmpp.NewNegotiator(func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
		return xmpp.StreamConfig{Features: features}
	}))
	if err != nil || p == nil {
		s.log.Debug("client negotiation failed", "addr", conn.RemoteAddr().String(), "err", err)
		if p != nil {
			p.cancel()
			s.mu.Lock()
			delete(s.peers, bound.String())
			s.mu.Unlock()
		}
		return
	}
	_ = conn.SetDeadline(time.Time{})
	s.sessions.Add(host.Resource{JID: bound})
	stop := s.start(bound.String(), p, sess)
	// The session's mux: the server's disco#info (XEP-0030) and, through
	// mixpam's adapter, the client's broadcast presence.
	m := mux.New(ns.Client, mdisco.Handle(), mux.Ident(serverIdentity{}),
		host.MuxPresence(p.ctx, host.PresenceHandlerFunc(s.presence), bound))
	err = s.readClient(p.ctx, sess, bound, m)
	s.log.Debug("client gone", "jid", bound.String(), "err", err)
	stop()
	s.sessions.Remove(bound)
	_ = s.mixpam.Disconnected(s.ctx, bound)
}

// bind picks the full JID of a new session, the resource asked for unless
// it is taken or empty, when it is random (RFC 6120 §7.6.2.2), and
// registers the session's peer: stanzas for it queue from now on.
func (s *server) bind(user, resource string) (jid.JID, *peer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		j, err := jid.New(user, s.domain, resource)
		if err != nil {
			return j, nil, err
		}
		if _, taken := s.peers[j.String()]; resource != "" && !taken {
			p := s.newPeer()
			s.peers[j.String()] = p
			return j, p, nil
		}
		resource = rand.Text()[:12]
	}
}

// readClient is the session's read loop. mellium's Session.Serve cannot
// serve a server: it answers service-unavailable to every IQ request whose
// handler returns without an answer, which a server does for every IQ it
// forwards (to a channel, to another user) and for a client-join. Each
// stanza's from is the session's (RFC 6120 §8.1.2.1); presence without to
// and IQ requests to the server go to the session's mux, the rest is
// delivered.
func (s *server) readClient(ctx context.Context, sess *xmpp.Session, full jid.JID, m *mux.ServeMux) error {
	r := sess.TokenReader()
	defer r.Close()
	for {
		start, err := nextStart(r)
		if err != nil {
			return err
		}
		start = stamp(start, full)
		rest := inner(r)
		to, typ := addr(start, "to").String(), iqType(start)
		if start.Name.Local == "presence" && to == "" || to == s.domain && (typ == stanza.GetIQ || typ == stanza.SetIQ) {
			err = s.serveMux(ctx, m, full, start, rest)
		} else {
			err = s.deliver(ctx, start, rest)
		}
		if err != nil {
			s.log.Debug("stanza from client", "jid", full.String(), "err", err)
		}
		if _, err := xmlstream.Copy(xmlstream.Discard(), rest); err != nil {
			return err
		}
	}
}

// serveMux hands a stanza to the session's mux and queues what it writes
// for the client. mellium's mux fails on an IQ without payload, writing
// nothing: the request gets bad-request. It calls no presence handler for
// a presence holding only whitespace, so whitespace-only text goes.
func (s *server) serveMux(ctx context.Context, m *mux.ServeMux, full jid.JID, start xml.StartElement, rest xml.TokenReader) error {
	var out muxOutput
	err := m.HandleXMPP(struct {
		xml.TokenReader
		xmlstream.Encoder
	}{dropBlanks(xmlstream.MultiReader(rest, xmlstream.Token(start.End()))), &out}, &start)
	if len(out) == 0 {
		if typ := iqType(start); typ == stanza.GetIQ || typ == stanza.SetIQ {
			s.bounce(ctx, start, stanza.BadRequest)
		}
		return err
	}
	raw, aerr := host.AppendStanza(nil, &out)
	if aerr != nil {
		return aerr
	}
	return errors.Join(err, s.RouteRaw(ctx, full, raw))
}

// dropBlanks drops whitespace-only text from r.
func dropBlanks(r xml.TokenReader) xml.TokenReader {
	return xmlstream.ReaderFunc(func() (xml.Token, error) {
		for {
			tok, err := r.Token()
			if cd, ok := tok.(xml.CharData); ok && len(bytes.TrimSpace(cd)) == 0 {
				tok = nil
			}
			if tok != nil || err != nil {
				return tok, err
			}
		}
	})
}

// presence records a client's broadcast availability and priority for
// messages to its bare JID (RFC 6121 §4.7.2.3, §8.5.2.1.1), then hands
// the presence to mixpam.
func (s *server) presence(ctx context.Context, p stanza.Presence, payload xml.TokenReader) error {
	raw, err := host.AppendStanza(nil, xmlstream.Wrap(payload, p.StartElement()))
	if err != nil {
		return err
	}
	if p.Type == stanza.AvailablePresence || p.Type == stanza.UnavailablePresence {
		_ = s.sessions.SetPresence(p.From, p.Type == stanza.AvailablePresence, priority(raw))
	}
	d := xml.NewDecoder(bytes.NewReader(raw))
	if _, err := d.Token(); err != nil {
		return err
	}
	return s.mixpam.ServePresence(ctx, p, d)
}

// priority is the <priority/> of a presence, 0 when absent or invalid.
func priority(raw []byte) int8 {
	var p struct {
		Priority int8 `xml:"priority"`
	}
	if xml.Unmarshal(raw, &p) != nil {
		return 0
	}
	return p.Priority
}

// serverIdentity is the server's disco#info identity (XEP-0030).
type serverIdentity struct{}

func (serverIdentity) ForIdentities(_ string, f func(info.Identity) error) error {
	return f(info.Identity{Category: "server", Type: "im"})
}

// muxOutput is what a mux handler writes, as tokens, read back by
// host.AppendStanza (an xml.Encoder fed the same tokens could write an
// xmlns twice).
type muxOutput []xml.Token

func (o *muxOutput) EncodeToken(t xml.Token) error {
	*o = append(*o, xml.CopyToken(t))
	return nil
}

func (o *muxOutput) Encode(v any) error { return o.EncodeElement(v, xml.StartElement{}) }

func (o *muxOutput) EncodeElement(v any, start xml.StartElement) error {
	var b bytes.Buffer
	e := xml.NewEncoder(&b)
	var err error
	if start.Name.Local == "" {
		err = e.Encode(v)
	} else {
		err = e.EncodeElement(v, start)
	}
	if err != nil {
		return err
	}
	_, err = xmlstream.Copy(o, xml.NewDecoder(&b))
	return err
}

func (o *muxOutput) Token() (xml.Token, error) {
	if len(*o) == 0 {
		return nil, io.EOF
	}
	t := (*o)[0]
	*o = (*o)[1:]
	return t, nil
}

// stamp returns a client's stanza with from set to its session's JID (RFC
// 6120 §8.1.2.1) and a to that is not a JID dropped (taken as none).
func stamp(start xml.StartElement, from jid.JID) xml.StartElement {
	attrs := make([]xml.Attr, 0, len(start.Attr)+1)
	for _, a := range start.Attr {
		if a.Name.Space != "" || a.Name.Local != "from" && (a.Name.Local != "to" || addr(start, "to").String() != "") {
			attrs = append(attrs, a)
		}
	}
	start.Attr = append(attrs, xml.Attr{Name: xml.Name{Local: "from"}, Value: from.String()})
	return start
}
