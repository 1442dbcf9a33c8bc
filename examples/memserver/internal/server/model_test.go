package server_test

import (
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/examples/memserver/internal/mixservice"
	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
	"github.com/mixpam/mixpam/examples/memserver/internal/server"
	"github.com/mixpam/mixpam/examples/memserver/internal/testclient"
	"github.com/mixpam/mixpam/host"
)

// The randomised model-based test: random sequences of what clients do,
// each step checked against a model of what every connected client must
// have received since the step before.
var (
	modelN     = flag.Int("model.n", 0, "number of random client sequences TestModelClients runs (0: the fixed-seed CI batch)")
	modelSeed  = flag.Uint64("model.seed", modelCISeed, "first seed of TestModelClients; sequence i uses seed+i")
	modelSteps = flag.Int("model.steps", 60, "steps per sequence of TestModelClients")
)

const (
	// modelCISeed and modelCIBatch are the fixed-seed batch CI runs.
	modelCISeed  = 20261203
	modelCIBatch = 12
)

var (
	modelUsers     = []string{"alice", "bob", "carol"}
	modelResources = []string{"r0", "r1", "r2"}
	modelChannels  = []string{"coven@mix.localhost", "heath@mix.localhost"}
)

// TestModelClients generates sequences of client actions (connect, presence
// with a priority and with or without caps, roster get with or without
// annotate, join, leave, groupchat, chat to a bare JID, block, unblock,
// requests to another user's account, disconnect) in any order a client
// may send them, and checks after each step that every connected client
// received exactly what the model says: roster pushes (only to interested
// resources, RFC 6121 §2.1.6, annotated as each asked), blocking pushes
// (only to clients that requested the blocklist, XEP-0191 §3.3–3.5),
// chat (to the available resources of highest non-negative priority),
// groupchat (to MIX-capable available clients, not from blocked
// participants), participants-node notifications, errors, and presence from
// the user's own other clients. Channel presence is not modelled, except
// that a MIX client in a channel must see some (the only way a client
// learns that channel traffic reaches it, when the server's capability
// lookup runs in the background) and a client without MIX must never get
// any.
//
// CI runs a fixed-seed batch; go test -run TestModelClients -model.n 500
// runs a long one (-model.seed picks another first seed).
func TestModelClients(t *testing.T) {
	n := modelCIBatch
	if *modelN > 0 {
		n = *modelN
	}
	ran := 0
	for i := range n {
		seed := *modelSeed + uint64(i)
		if !t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) { runModel(t, seed, *modelSteps) }) {
			t.Logf("reproduce with: go test -run 'TestModelClients/seed=%d$' -model.seed %d ./examples/memserver/internal/server/", seed, *modelSeed)
		}
		ran++
	}
	t.Logf("%d random client sequences of %d steps each, seeds %d to %d", ran, *modelSteps, *modelSeed, *modelSeed+uint64(n)-1)
}

// mres is one connected client (resource) in the model.
type mres struct {
	user, name string
	c          *testclient.Client
	mix        bool // advertises urn:xmpp:mix:core:1
	interested bool // has requested the roster (RFC 6121 §2.1.6)
	annotate   bool // its last roster get asked for annotations
	blocklist  bool // has requested the blocklist (XEP-0191 §3.2)
	available  bool // has sent available presence
	prio       int
	// settled: the client has seen channel presence, so the server knows
	// it is MIX capable (XEP-0405 §2.1).
	settled bool
}

func (r *mres) full() string { return r.user + "@localhost/" + r.name }

// muser is an account in the model.
type muser struct {
	name     string
	res      map[string]*mres  // online resources by name
	channels map[string]string // joined channel → own encoded participant JID
	blocked  map[string]bool   // blocklist (JIDs as strings)
}

// want is one stanza a client must receive in a step.
type want struct {
	what  string
	match func(packet.Packet) bool
}

// model is the expected state of the server as its clients see it.
type model struct {
	t     *testing.T
	srv   *testclient.Server
	rng   *rand.Rand
	users map[string]*muser
	steps []string // what happened, for failure messages
	seq   int      // stanza id counter
	wants map[*mres][]want
}

func runModel(t *testing.T, seed uint64, steps int) {
	srv := testclient.Start(t, testclient.Options{
		MIXDomain: mixDomain,
		NewMIX: func(r host.RawRouter) server.MIXService {
			return mixservice.New(mixservice.Config{Domain: mixDomain, Router: r})
		},
		Users: append([]string{"owner"}, modelUsers...),
	})
	owner := srv.Login(t, "owner", testclient.NoRoster(), testclient.NoPresence())
	for _, ch := range modelChannels {
		id := "create-" + ch
		owner.Send(t, `<iq type="set" id="`+id+`" to="`+mixDomain+`"><create xmlns="urn:xmpp:mix:core:1" channel="`+strings.TrimSuffix(ch, "@"+mixDomain)+`"/></iq>`)
		require.Equal(t, "result", owner.Expect(t, "create result", testclient.ByID(id)).Type)
	}
	owner.Close(t)

	m := &model{t: t, srv: srv, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), users: make(map[string]*muser)}
	for _, u := range modelUsers {
		m.users[u] = &muser{name: u, res: make(map[string]*mres), channels: make(map[string]string), blocked: make(map[string]bool)}
	}
	for range steps {
		m.step()
	}
}

// step picks an action that applies, runs it and checks what every client
// received.
func (m *model) step() {
	m.wants = make(map[*mres][]want)
	var act func() (string, *mres)
	for act == nil {
		act = m.pick()
	}
	desc, actor := act()
	m.steps = append(m.steps, desc)
	m.check(actor)
}

// pick returns a random action, or nil when the one drawn does not apply.
func (m *model) pick() func() (string, *mres) {
	u := m.users[modelUsers[m.rng.IntN(len(modelUsers))]]
	name := modelResources[m.rng.IntN(len(modelResources))]
	r := u.res[name]
	if r == nil {
		return func() (string, *mres) { return m.connect(u, name) }
	}
	switch k := m.rng.IntN(100); {
	case k < 14:
		return func() (string, *mres) { return m.presence(r) }
	case k < 22:
		return func() (string, *mres) { return m.rosterGet(r) }
	case k < 34:
		ch := modelChannels[m.rng.IntN(len(modelChannels))]
		if _, in := u.channels[ch]; in {
			return func() (string, *mres) { return m.leave(r, ch) }
		}
		return func() (string, *mres) { return m.join(r, ch) }
	case k < 52:
		if len(u.channels) == 0 {
			return nil
		}
		chans := slices.Sorted(maps.Keys(u.channels))
		ch := chans[m.rng.IntN(len(chans))]
		return func() (string, *mres) { return m.groupchat(r, ch) }
	case k < 66:
		to := modelUsers[m.rng.IntN(len(modelUsers))]
		if to == u.name {
			return nil
		}
		return func() (string, *mres) { return m.chat(r, m.users[to]) }
	case k < 74:
		targets := m.blockTargets(u)
		if len(targets) == 0 {
			return nil
		}
		target := targets[m.rng.IntN(len(targets))]
		return func() (string, *mres) { return m.block(r, target) }
	case k < 80:
		if len(u.blocked) == 0 {
			return nil
		}
		list := slices.Sorted(maps.Keys(u.blocked))
		target := list[m.rng.IntN(len(list))]
		return func() (string, *mres) { return m.unblock(r, target) }
	case k < 86:
		to := modelUsers[m.rng.IntN(len(modelUsers))]
		if to == u.name {
			return nil
		}
		return func() (string, *mres) { return m.foreign(r, to) }
	default:
		return func() (string, *mres) { return m.disconnect(r) }
	}
}

func (m *model) id(kind string) string {
	m.seq++
	return kind + strconv.Itoa(m.seq)
}

func (m *model) expect(r *mres, what string, match func(packet.Packet) bool) {
	m.wants[r] = append(m.wants[r], want{what, match})
}

// connect logs a client in, without presence and without a roster get:
// those are steps of their own.
func (m *model) connect(u *muser, name string) (string, *mres) {
	r := &mres{user: u.name, name: name, mix: m.rng.IntN(3) > 0}
	opts := []testclient.LoginOption{testclient.Resource(name), testclient.NoPresence(), testclient.NoRoster(), testclient.WithCaps()}
	if r.mix {
		opts = append(opts, testclient.MIXCapable())
	}
	r.c = m.srv.Login(m.t, u.name, opts...)
	u.res[name] = r
	// Clients r0 and r2 fetch the blocklist right after login, as clients
	// that support blocking do; r1 never does, so it gets no blocking
	// pushes (XEP-0191 §3.3–3.5). Decided by name, not drawn, so that the
	// committed seeds draw the same sequences as before this rule.
	if name != "r1" {
		id := m.id("blocklist")
		r.c.Send(m.t, `<iq type="get" id="`+id+`"><blocklist xmlns="urn:xmpp:blocking"/></iq>`)
		res := r.c.Expect(m.t, "blocklist", testclient.ByID(id))
		require.Equal(m.t, "result", res.Type, m.failure("%s", raw(res)))
		r.blocklist = true
	}
	return fmt.Sprintf("%s connects (MIX %v, blocklist get %v)", r.full(), r.mix, r.blocklist), r
}

// presence sends broadcast presence with a priority, with or without caps
// (RFC 6121 §4.2, §4.4; XEP-0115): the user's other available clients get
// it, and on initial presence the client gets theirs.
func (m *model) presence(r *mres) (string, *mres) {
	prio := m.rng.IntN(5) - 2
	caps := m.rng.IntN(2) == 0
	body := `<priority>` + strconv.Itoa(prio) + `</priority>`
	if caps {
		body += r.c.Caps()
	}
	r.c.Send(m.t, `<presence>`+body+`</presence>`)
	initial := !r.available
	r.available, r.prio = true, prio
	for _, o := range m.users[r.user].sorted() {
		if o == r || !o.available {
			continue
		}
		m.expect(o, "presence of "+r.full(), ownPresence(r.full(), ""))
		if initial {
			m.expect(r, "presence of "+o.full(), ownPresence(o.full(), ""))
		}
	}
	return fmt.Sprintf("%s sends presence, priority %d, caps %v", r.full(), prio, caps), r
}

// rosterGet requests the roster, which lists the user's channels, annotated
// when asked (XEP-0405 §2.10).
func (m *model) rosterGet(r *mres) (string, *mres) {
	annotate := m.rng.IntN(2) == 0
	q := `<query xmlns="jabber:iq:roster"/>`
	if annotate {
		q = `<query xmlns="jabber:iq:roster"><annotate xmlns="urn:xmpp:mix:roster:0"/></query>`
	}
	id := m.id("roster")
	r.c.Send(m.t, `<iq type="get" id="`+id+`">`+q+`</iq>`)
	res := r.c.Expect(m.t, "roster result", testclient.ByID(id))
	require.Equal(m.t, "result", res.Type, m.failure("%s", raw(res)))
	u := m.users[r.user]
	for _, ch := range modelChannels {
		_, in := u.channels[ch]
		require.Equal(m.t, in, strings.Contains(raw(res), `jid="`+ch+`"`), m.failure("channel %s in the roster of %s: %s", ch, r.full(), raw(res)))
	}
	require.Equal(m.t, annotate && len(u.channels) > 0, strings.Contains(raw(res), `urn:xmpp:mix:roster:0`), m.failure("annotations in %s", raw(res)))
	r.interested, r.annotate = true, annotate
	return fmt.Sprintf("%s gets the roster (annotate %v)", r.full(), annotate), r
}

// join joins a channel through the user's server (XEP-0405 §2.7), with the
// messages, presence and participants nodes: the roster gets the channel,
// and the channel's participants node subscribers, the joiner included, the
// new participant's item.
func (m *model) join(r *mres, ch string) (string, *mres) {
	id := m.id("join")
	r.c.Send(m.t, `<iq type="set" id="`+id+`"><client-join xmlns="urn:xmpp:mix:pam:2" channel="`+ch+`"><join xmlns="urn:xmpp:mix:core:1">`+
		`<subscribe node="urn:xmpp:mix:nodes:messages"/><subscribe node="urn:xmpp:mix:nodes:presence"/><subscribe node="urn:xmpp:mix:nodes:participants"/>`+
		`<nick>`+r.user+`</nick></join></client-join></iq>`)
	res := r.c.Expect(m.t, "client-join answer", testclient.ByID(id))
	require.Equal(m.t, "result", res.Type, m.failure("%s", raw(res)))
	encoded := attrValue(raw(res), "jid")
	require.True(m.t, strings.HasSuffix(encoded, "#"+ch), m.failure("participant JID in %s", raw(res)))
	u := m.users[r.user]
	u.channels[ch] = encoded
	m.rosterPush(u, ch, false)
	for _, v := range m.members(ch) {
		m.toBareJID(v, "participants notification of "+ch, func(p packet.Packet) bool {
			return p.Kind == packet.Message && p.From.String() == ch && strings.Contains(raw(p), "urn:xmpp:mix:nodes:participants") && strings.Contains(raw(p), "<jid>"+r.user+"@localhost</jid>")
		})
	}
	return fmt.Sprintf("%s joins %s", r.full(), ch), r
}

// leave leaves a channel (XEP-0405 §2.8): the roster loses it, and the
// remaining participants node subscribers get the retraction.
func (m *model) leave(r *mres, ch string) (string, *mres) {
	id := m.id("leave")
	r.c.Send(m.t, `<iq type="set" id="`+id+`"><client-leave xmlns="urn:xmpp:mix:pam:2" channel="`+ch+`"><leave xmlns="urn:xmpp:mix:core:1"/></client-leave></iq>`)
	res := r.c.Expect(m.t, "client-leave answer", testclient.ByID(id))
	require.Equal(m.t, "result", res.Type, m.failure("%s", raw(res)))
	u := m.users[r.user]
	encoded := u.channels[ch]
	delete(u.channels, ch)
	m.rosterPush(u, ch, true)
	pid, _, _ := strings.Cut(encoded, "#")
	for _, v := range m.members(ch) {
		m.toBareJID(v, "participants retraction in "+ch, func(p packet.Packet) bool {
			return p.Kind == packet.Message && p.From.String() == ch && strings.Contains(raw(p), `<retract id="`+pid+`"`)
		})
	}
	return fmt.Sprintf("%s leaves %s", r.full(), ch), r
}

// groupchat sends a message to a channel: it reaches every participant's
// MIX-capable available clients, the sender's own included, except those
// of participants who blocked the sender (XEP-0405 §2.2, §2.12).
func (m *model) groupchat(r *mres, ch string) (string, *mres) {
	id := m.id("gc")
	body := "groupchat " + id
	r.c.Send(m.t, `<message type="groupchat" to="`+ch+`" id="`+id+`"><body>`+body+`</body></message>`)
	sender := m.users[r.user].channels[ch]
	for _, v := range m.members(ch) {
		if v.blocked[sender] {
			continue
		}
		for _, o := range v.sorted() {
			if o.mix && o.available {
				m.expect(o, "groupchat "+id+" in "+ch, func(p packet.Packet) bool {
					return p.Kind == packet.Message && p.Type == "groupchat" && strings.Contains(raw(p), body) && p.To.String() == o.full()
				})
			}
		}
	}
	return fmt.Sprintf("%s sends groupchat %s to %s", r.full(), id, ch), r
}

// chat sends a chat message to another user's bare JID (RFC 6121
// §8.5.2.1.1; XEP-0191 §3.3 when either blocked the other).
func (m *model) chat(r *mres, to *muser) (string, *mres) {
	id := m.id("chat")
	r.c.Send(m.t, `<message type="chat" to="`+to.name+`@localhost" id="`+id+`"><body>chat `+id+`</body></message>`)
	from := m.users[r.user]
	isError := func(cond string) func(packet.Packet) bool {
		return func(p packet.Packet) bool {
			return p.Kind == packet.Message && p.ID == id && p.Type == "error" && strings.Contains(raw(p), "<"+cond)
		}
	}
	switch {
	case from.blocked[to.name+"@localhost"]:
		m.expect(r, "blocked error for "+id, isError("not-acceptable"))
	case to.blocked[from.name+"@localhost"]:
		m.expect(r, "service-unavailable for "+id, isError("service-unavailable"))
	case len(to.topResources()) == 0:
		m.expect(r, "service-unavailable for "+id, isError("service-unavailable"))
	default:
		m.toBareJID(to, "chat "+id, func(p packet.Packet) bool {
			return p.Kind == packet.Message && p.ID == id && p.Type == "chat"
		})
	}
	return fmt.Sprintf("%s sends chat %s to %s", r.full(), id, to.name), r
}

// blockTargets are what u may block and has not: another user, or another
// participant's encoded JID in a channel u is in.
func (m *model) blockTargets(u *muser) []string {
	var targets []string
	for _, v := range modelUsers {
		if v != u.name {
			targets = append(targets, v+"@localhost")
		}
	}
	for ch := range u.channels {
		for _, v := range m.members(ch) {
			if v != u {
				targets = append(targets, v.channels[ch])
			}
		}
	}
	targets = slices.DeleteFunc(targets, func(j string) bool { return u.blocked[j] })
	slices.Sort(targets)
	return targets
}

// block adds a JID to the blocklist; every online client of the user that
// requested the blocklist gets the push (XEP-0191 §3.3).
func (m *model) block(r *mres, target string) (string, *mres) {
	m.blockCommand(r, "block", target)
	m.users[r.user].blocked[target] = true
	return fmt.Sprintf("%s blocks %s", r.full(), target), r
}

// unblock takes a JID off the blocklist (XEP-0191 §3.4).
func (m *model) unblock(r *mres, target string) (string, *mres) {
	m.blockCommand(r, "unblock", target)
	delete(m.users[r.user].blocked, target)
	return fmt.Sprintf("%s unblocks %s", r.full(), target), r
}

func (m *model) blockCommand(r *mres, cmd, target string) {
	id := m.id(cmd)
	r.c.Send(m.t, `<iq type="set" id="`+id+`"><`+cmd+` xmlns="urn:xmpp:blocking"><item jid="`+target+`"/></`+cmd+`></iq>`)
	res := r.c.Expect(m.t, cmd+" result", testclient.ByID(id))
	require.Equal(m.t, "result", res.Type, m.failure("%s", raw(res)))
	for _, o := range m.users[r.user].sorted() {
		if !o.blocklist {
			continue
		}
		m.expect(o, cmd+" push for "+target, func(p packet.Packet) bool {
			return p.Kind == packet.IQ && p.Type == "set" && strings.Contains(raw(p), `<`+cmd+` xmlns="urn:xmpp:blocking"`) && strings.Contains(raw(p), target)
		})
	}
}

// foreign sends to another user's bare JID a request only that user's own
// clients may make: the handler answers forbidden (RFC 6120 §8.3.3.5).
func (m *model) foreign(r *mres, to string) (string, *mres) {
	payloads := []string{
		`<client-join xmlns="urn:xmpp:mix:pam:2" channel="` + modelChannels[0] + `"><join xmlns="urn:xmpp:mix:core:1"><subscribe node="urn:xmpp:mix:nodes:messages"/><nick>x</nick></join></client-join>`,
		`<query xmlns="jabber:iq:roster"/>`,
		`<block xmlns="urn:xmpp:blocking"><item jid="` + r.user + `@localhost"/></block>`,
	}
	types := []string{"set", "get", "set"}
	k := m.rng.IntN(len(payloads))
	id := m.id("foreign")
	r.c.Send(m.t, `<iq type="`+types[k]+`" id="`+id+`" to="`+to+`@localhost">`+payloads[k]+`</iq>`)
	res := r.c.Expect(m.t, "answer to a request to another account", testclient.ByID(id))
	require.Equal(m.t, "error", res.Type, m.failure("%s", raw(res)))
	cond := "<forbidden"
	switch {
	case m.users[r.user].blocked[to+"@localhost"]:
		cond = "<blocked" // XEP-0191 §3.3
	case m.users[to].blocked[r.user+"@localhost"]:
		cond = "<service-unavailable"
	}
	require.Contains(m.t, raw(res), cond, m.failure("condition of %s", raw(res)))
	return fmt.Sprintf("%s sends %s to %s's account", r.full(), payloads[k], to), r
}

// disconnect ends a client's stream: its user's other available clients
// get its unavailable presence (RFC 6121 §4.5.2).
func (m *model) disconnect(r *mres) (string, *mres) {
	r.c.Close(m.t)
	u := m.users[r.user]
	delete(u.res, r.name)
	if r.available {
		for _, o := range u.sorted() {
			if o.available {
				m.expect(o, "unavailable presence of "+r.full(), ownPresence(r.full(), "unavailable"))
			}
		}
	}
	return fmt.Sprintf("%s disconnects", r.full()), nil
}

// rosterPush expects the push of a channel item (or its removal) on every
// interested client, annotated for those that asked (RFC 6121 §2.1.6,
// XEP-0405 §2.10).
func (m *model) rosterPush(u *muser, ch string, remove bool) {
	for _, o := range u.sorted() {
		if !o.interested {
			continue
		}
		annotate := o.annotate && !remove
		m.expect(o, fmt.Sprintf("roster push of %s (remove %v, annotated %v)", ch, remove, annotate), func(p packet.Packet) bool {
			s := raw(p)
			return p.Kind == packet.IQ && p.Type == "set" && strings.Contains(s, "jabber:iq:roster") && strings.Contains(s, `jid="`+ch+`"`) &&
				remove == strings.Contains(s, `subscription="remove"`) && annotate == strings.Contains(s, "urn:xmpp:mix:roster:0")
		})
	}
}

// toBareJID expects a message to u's bare JID on u's available clients
// with the highest non-negative priority (RFC 6121 §8.5.2.1.1).
func (m *model) toBareJID(u *muser, what string, match func(packet.Packet) bool) {
	for _, o := range u.topResources() {
		m.expect(o, what, match)
	}
}

// members returns the users in channel ch.
func (m *model) members(ch string) []*muser {
	var in []*muser
	for _, name := range modelUsers {
		if _, ok := m.users[name].channels[ch]; ok {
			in = append(in, m.users[name])
		}
	}
	return in
}

// sorted returns u's online clients by resource.
func (u *muser) sorted() []*mres {
	var rs []*mres
	for _, name := range modelResources {
		if r := u.res[name]; r != nil {
			rs = append(rs, r)
		}
	}
	return rs
}

// topResources returns u's available clients with the highest
// non-negative priority.
func (u *muser) topResources() []*mres {
	top := -1
	for _, r := range u.sorted() {
		if r.available && r.prio > top {
			top = r.prio
		}
	}
	var rs []*mres
	for _, r := range u.sorted() {
		if top >= 0 && r.available && r.prio == top {
			rs = append(rs, r)
		}
	}
	return rs
}

// check waits for everything the step must have delivered, then, after a
// ping barrier (see testclient.Client.Ping), makes sure nothing else
// arrived that the model covers.
func (m *model) check(actor *mres) {
	t := m.t
	var all []*mres
	for _, name := range modelUsers {
		all = append(all, m.users[name].sorted()...)
	}
	for _, r := range all {
		for _, w := range m.wants[r] {
			m.expectOn(r, w.what, w.match)
		}
	}
	// A MIX client available while its user is in a channel sees channel
	// presence once the server knows it is MIX capable; until then
	// channel traffic does not reach it.
	for _, r := range all {
		if r.mix && r.available && !r.settled && len(m.users[r.user].channels) > 0 {
			m.expectOn(r, "channel presence (MIX capability known)", func(p packet.Packet) bool {
				return p.Kind == packet.Presence && p.From.Domainpart() == mixDomain
			})
			r.settled = true
		}
	}
	if actor != nil {
		actor.c.Ping(t)
	}
	for _, r := range all {
		r.c.Ping(t)
	}
	for _, r := range all {
		for _, p := range r.c.TakeAll(func(p packet.Packet) bool { return m.covered(r, p) }) {
			require.Fail(t, "unexpected stanza", m.failure("%s received %s", r.full(), raw(p)))
		}
		// What the model does not cover (channel presence, disco#info
		// queries) is dropped.
		r.c.Drain()
	}
}

func (m *model) expectOn(r *mres, what string, match func(packet.Packet) bool) {
	m.t.Helper()
	if _, ok := r.c.Wait(testclient.Timeout, match); !ok {
		require.Fail(m.t, "missing stanza", m.failure("%s did not receive %s; it has:\n%s", r.full(), what, r.c.Inbox()))
	}
}

// covered reports whether the model says exactly when r receives p:
// messages, roster and blocking pushes, presence from the user's own
// clients, and available channel presence on a client without MIX.
func (m *model) covered(r *mres, p packet.Packet) bool {
	s := raw(p)
	switch p.Kind {
	case packet.Message:
		return true
	case packet.IQ:
		return p.Type == "set" && (strings.Contains(s, "jabber:iq:roster") || strings.Contains(s, "urn:xmpp:blocking"))
	case packet.Presence:
		if p.From.Domainpart() == mixDomain {
			return !r.mix && p.Type == ""
		}
		return p.From.Bare().String() == r.user+"@localhost"
	}
	return false
}

// failure formats a failure message followed by the steps so far.
func (m *model) failure(format string, args ...any) string {
	var b strings.Builder
	fmt.Fprintf(&b, format, args...)
	b.WriteString("\nsteps:\n")
	for i, s := range m.steps {
		fmt.Fprintf(&b, "  %d. %s\n", i+1, s)
	}
	return b.String()
}

// ownPresence matches presence from another client of the same user, of
// type typ ("" for available).
func ownPresence(from, typ string) func(packet.Packet) bool {
	return func(p packet.Packet) bool {
		return p.Kind == packet.Presence && p.From.String() == from && p.Type == typ
	}
}

// attrValue returns the value of the first attribute name="…" in s.
func attrValue(s, name string) string {
	_, after, ok := strings.Cut(s, " "+name+`="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, `"`)
	return v
}
