// Package host defines the seams between mixpam's handlers and the server
// that embeds them. mixpam never owns a connection: the host owns sockets,
// sessions, routing and storage, and hands stanzas to mixpam's handlers; the
// handlers reach back through the small interfaces defined here.
//
//   - Sessions: which resources of a user are online, and the per-session
//     facts XEP-0405 makes the participant server track (MIX capability,
//     §2.1; roster annotation requested, §2.10).
//   - Router: deliver a stanza to a JID, with an optional raw-bytes fast path
//     (RawRouter) used by the groupchat fan-out (§2.2).
//   - Exchange: send an IQ to a remote entity (a MIX channel, a client) and
//     wait for its answer, matching the answer strictly so that a spoofed
//     response changes nothing (§2.6–2.8).
//
// The handlers meet the host through two contracts: IQHandler (every IQ
// handler) and PresenceHandler (presence, served by the mixpam Dispatcher).
// Mux and MuxPresence adapt them to mellium's mux.ServeMux, with one policy
// for a client's from (RFC 6120 §8.1.2.1: the session's JID, whatever the
// client wrote).
//
// Sessions has an in-memory implementation here (MemSessions). Package
// host/hosttest holds the conformance kits a host runs against its own
// registry and router, and a test double for Router (hosttest.Recorder).
//
// # Not mine
//
// Everything a host hands a stanza to, to serve it, says "not mine" one
// way: it returns ErrNotHandled (possibly wrapping the error that kept it
// from deciding), having read nothing of the stanza's payload and sent
// nothing, and the host goes on with the stanza as usual. That is every
// IQHandler's ServeIQ, mixpam.Dispatcher.Dispatch, presence.Handler.Inbound
// and pam.FanOut.ServeMessage (whose result then carries the action
// FanOutPassed). Any other error means the stanza was taken: the host does
// nothing more with it.
//
// Exchange.Receive is not one of them and keeps its bool: it does not serve
// the stanza but looks up whether it answers one of the requests this
// process sent, and reports the match as the ok of a lookup does; a host
// that sends no IQ of its own need not call it (the Dispatcher does). The
// verdicts of presence.Handler.Directed and blocking.Filter.Blocked are
// answers to a question (may this go out, is this blocked), not "not mine",
// and are bools too.
package host
