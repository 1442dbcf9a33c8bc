package server

import (
	"fmt"
	"sync"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
	"mellium.im/xmpp/stream"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/wire"
)

// Per-account quotas when Config leaves them zero.
const (
	// DefaultMaxResources is the number of resources one account may have
	// bound at once (ejabberd's max_user_sessions has the same default).
	DefaultMaxResources = 10
	// DefaultMaxQueued is the most bytes waiting to be written to one
	// session before the server gives up on it: large enough for the
	// biggest single answer (a roster of DefaultMaxItems items of
	// DefaultMaxItemBytes is 4 MB) and a burst of stanzas of the maximum
	// size behind it.
	DefaultMaxQueued = 8 << 20
)

// resourceQuota counts the resources each account has bound, so that an
// account cannot multiply its sessions (and their send queues) without
// bound. A resource bound again replaces its session (RFC 6120 §7.7.2.2)
// and does not count twice. It is safe for concurrent use.
type resourceQuota struct {
	max int

	mu    sync.Mutex
	bound map[string]map[string]int // bare JID → resource → sessions holding it
}

func newResourceQuota(max int) *resourceQuota {
	return &resourceQuota{max: max, bound: make(map[string]map[string]int)}
}

// acquire counts full as bound and reports true, or reports false when its
// account has max other resources bound already.
func (q *resourceQuota) acquire(full jid.JID) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	account, resource := full.Bare().String(), full.Resourcepart()
	held := q.bound[account]
	if _, again := held[resource]; !again && len(held) >= q.max {
		return false
	}
	if held == nil {
		held = make(map[string]int)
		q.bound[account] = held
	}
	held[resource]++
	return true
}

// release undoes one acquire of full.
func (q *resourceQuota) release(full jid.JID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	account, resource := full.Bare().String(), full.Resourcepart()
	held := q.bound[account]
	if held[resource]--; held[resource] <= 0 {
		delete(held, resource)
	}
	if len(held) == 0 {
		delete(q.bound, account)
	}
}

// bindRefusal answers the bind request that bindResult would complete with
// resource-constraint, as RFC 6120 §7.6.2.1 asks when "the account has
// reached a limit on the number of simultaneous connected resources", and
// ends the stream with policy-violation: negotiation is over, and the client
// may not try another resource on this stream.
func bindRefusal(bindResult []byte, max int) []byte {
	text := fmt.Sprintf("this account has %d resources bound, the most allowed", max)
	var out []byte
	if res, err := packet.Parse(bindResult); err == nil {
		req := packet.Packet{Kind: packet.IQ, Type: string(stanza.SetIQ), ID: res.ID}
		if reply, ok := packet.ErrorReply(req, jid.JID{}, packet.Err(stanza.ResourceConstraint, text)); ok {
			out = append(out, reply.Raw...)
		}
	}
	out = (&wire.Error{Cond: stream.PolicyViolation, Text: text}).Append(out)
	return append(out, wire.Trailer...)
}
