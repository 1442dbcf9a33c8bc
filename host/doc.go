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
package host
