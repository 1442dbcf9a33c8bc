// Package pam is the heart of the participant server side of MIX
// (XEP-0405): it joins and leaves channels on the user's behalf
// (client-join and client-leave, §2.6–2.8, keeping the roster in step,
// §2.9) and fans groupchat from channels out to the user's MIX-capable
// clients (§2.2).
//
// # Joining and leaving
//
// JoinHandler wraps client-join and client-leave (XEP-0405 §2.7, §2.8).
// A host calls JoinHandler.ServeIQ (a host.IQHandler) from a session's read
// loop, or through a mixpam.Dispatcher; it returns at once and replies when
// the channel has answered. Hosts built on mellium's mux use Handle
// instead, which blocks the session until the answer is written.
//
// A request is accepted only from the user's own full JID, addressed to the
// user's bare JID or to no one. The client's <join/> or <leave/> goes to the
// channel verbatim, from the user's bare JID and with the client's IQ id.
// Only the channel's own answer (from exactly the channel, to exactly the
// bare JID, same id: host.Exchange ignores anything else) changes the
// roster: a join result stores the channel with subscription "from", or
// "none" when the user chose the XEP-0404 Presence preference 'not share',
// and the participant id from the result's id attribute; a leave result
// removes it; each change is pushed to every interested resource (annotated
// per §2.10 where asked). The client then gets the channel's <join/> or
// <leave/> wrapped in client-join or client-leave, or the channel's error
// as the channel sent it. Last, JoinConfig.Presence (a *presence.Handler)
// is told of the recorded join or leave: the user's MIX clients already
// online send their presence to a joined channel, which is asked for its
// own presence again (§2.9, §2.9.3), and a left channel's presence is
// forgotten.
//
// One user's requests for one channel run one at a time in arrival order,
// so the roster follows the channel's answers in order and two resources
// may reuse an IQ id. Requests are bounded per user and in time; every
// accepted request gets exactly one answer. A join the roster cannot record
// is undone with a leave to the channel; see JoinConfig for the knobs.
//
// The roster follows the channel also when the store or the channel fails:
// what a confirmed answer calls for and could not be done while the client
// waited (removing an item after a leave, undoing a join the roster could
// not record) is retried in the background, in order with the user's later
// requests for that channel, until it is done; and a channel's answer that
// comes after the client was told remote-server-timeout is still acted on,
// for ten Timeouts (at least a minute) past the request's deadline.
// So once the store and the channel work again and the handler is idle
// (Pending is 0), each user's roster holds a channel item exactly for the
// channels that count the user as a participant, as far as their answers
// told. Shutdown abandons what is left, logging it at error level.
//
// # Groupchat fan-out
//
// FanOut handles every <message type='groupchat'/> addressed to a local
// user's bare JID (XEP-0405 §2.2, §2.11). The host calls FanOut.ServeMessage
// (or, holding the stanza as bytes, FanOut.ServeRaw, which passes a plainly
// written message on without decoding it) before its usual RFC 6121
// delivery. A message is taken only from a channel
// in the user's roster (anything else is dropped and counted), after the
// optional BlockFilter (XEP-0405 §2.12) had its say. It is archived first in
// the user's own archive, also when no client is online, with a XEP-0359
// <stanza-id by='user bare JID'/> that every live copy carries too (a
// forged one claiming the user's JID is removed); then a copy goes to every
// online MIX-capable resource, whatever its presence, with nothing changed
// but to. The stanza is rendered once and only to is spliced per recipient,
// so allocations do not grow with the number of resources; the figures are
// in docs/performance.md. A failed archive write does not hold delivery
// back: the message is delivered, counted, and returned in an ArchiveError
// that the host can append again (Append is idempotent on the id).
//
// # Two halves, one package
//
// The join half (join*.go) and the fan-out half (fanout*.go) share no code:
// no unexported identifier of one is used by the other, they have their
// own dependencies (the join: host.Exchanger, the roster's channel side,
// presence; the fan-out: the archive, the block filter, the splicer) and
// their own concerns (ordering and exactly-once answers; bytes and
// allocations per delivery). What joins them is data, not code: the
// channel item the join records in the user's roster is what the fan-out
// checks each message against. They stay one package because together
// they are the behaviour XEP-0405 itself specifies (§2.2, §2.6–2.9), which
// every host needs both of and wires together, and the README's top-level
// packages are kept; the file prefixes mark the seam, and either half
// could move to a package of its own without touching the other.
package pam
