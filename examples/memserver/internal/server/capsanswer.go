package server

import (
	"context"
	"encoding/xml"
	"time"

	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/host"
)

// capsApplyWait bounds how long a session's dispatcher waits, after the
// client's answer to the server's caps query, for the verdict to be applied
// (see awaitCapsApplied). Applying it takes no remote round trip, only
// parsing, hashing and the presence resend, so the bound is only reached on
// an overloaded server.
const capsApplyWait = 2 * time.Second

// capsLookup is one caps lookup of a session (see resolveCaps): the id of
// the disco#info query the resolver sent the client, if it sent one, and
// done, closed once the lookup is over: the MIX capability recorded (or
// not, when no answer could be had) and, for a MIX-capable client, its
// presence resent to its channels.
type capsLookup struct {
	id   string // guarded by session.mu
	done chan struct{}
}

// capsExchanger is the resolver's host.Exchanger: it sends the query
// through the router's exchange, and first notes its id on the queried
// session's current lookup, so that the session's dispatcher recognises the
// answer (see capsAnswer).
type capsExchanger struct{ s *Server }

// Exchange implements host.Exchanger.
func (x capsExchanger) Exchange(ctx context.Context, req stanza.IQ, payload xml.TokenReader) (host.Response, error) {
	if rs, ok := x.s.router.Lookup(req.To); ok {
		if sess, ok := rs.(*session); ok {
			sess.mu.Lock()
			if sess.lookup != nil {
				sess.lookup.id = req.ID
			}
			sess.mu.Unlock()
		}
	}
	return x.s.router.Exchange().Exchange(ctx, req, payload)
}

// capsAnswer returns the session's current caps lookup when p, an IQ from
// the client, answers the lookup's disco#info query; nil otherwise.
func (sess *session) capsAnswer(p packet.Packet) *capsLookup {
	if p.IsRequest() || !p.To.Equal(sess.srv.domain) {
		return nil
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if l := sess.lookup; l != nil && l.id != "" && l.id == p.ID {
		return l
	}
	return nil
}

// awaitCapsApplied makes the session's dispatcher, which has just handed
// the client's answer to the caps query of lookup l to the resolver, wait
// until the lookup is over, at most capsApplyWait. This is the server's
// guarantee to clients: the MIX capability (XEP-0405 §2.1) learnt from a
// disco#info answer applies to every stanza the client sends after the
// answer, just as a cached verdict applies to every stanza after the
// presence that advertised it. A client that answers and then, say, posts
// to a channel gets the channel's reflection, and one that answers and
// pings knows, once the ping is answered, that channel traffic reaches it.
func (sess *session) awaitCapsApplied(ctx context.Context, l *capsLookup) {
	if l == nil {
		return
	}
	timer := time.NewTimer(capsApplyWait)
	defer timer.Stop()
	select {
	case <-l.done:
	case <-timer.C:
		sess.srv.log.Warn("caps answer not applied in time: the client's next stanzas are handled before its MIX capability is known",
			"client", sess.jid.String(), "wait", capsApplyWait.String())
	case <-ctx.Done():
	}
}
