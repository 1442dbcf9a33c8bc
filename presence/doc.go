// Package presence carries presence between a user's MIX-capable clients and
// the channels the user joined (XEP-0405 §2.9.1–2.9.4, XEP-0403): it sends
// client presence to channels, passes channel presence on to clients, caches
// it, refreshes it with directed presence, and answers channel probes.
//
// # What goes where
//
//   - Client to channel (XEP-0405 §2.9.1, §2.9.4; XEP-0403 §4.1, §4.3): the
//     broadcast presence of a MIX-capable client goes, from the client's
//     full JID, to the bare JID of every channel in the roster with
//     subscription "from". Clients that do not advertise MIX capability
//     never reach channels (§2.9). A session that ends without unavailable
//     presence still sends unavailable presence to them.
//   - Channel to clients (XEP-0405 §2.9.2): presence a channel sends to the
//     user's bare JID, from participant#channel@service/resource or from the
//     channel itself, goes to every MIX-capable client that is online, "with
//     'from' unchanged and 'to' set to the client receiving presence".
//     Presence from an encoded JID of a channel the user has not joined is
//     dropped and counted (Stats.Spoofed).
//   - Cache (XEP-0405 §2.9.2): the last available presence of every sender
//     of every joined channel is kept per user, rendered once; unavailable
//     presence removes it.
//   - Client coming online (XEP-0405 §2.9.3): a MIX-capable client's first
//     available presence brings it the cached presence of every joined
//     channel. A channel the cache cannot answer for is refreshed by
//     directed presence from the user's bare JID, once per (user, channel)
//     however many clients come online meanwhile: a channel that has not
//     answered a refresh since the handler started (after a restart the
//     cache is empty, and updates that trickle in before a client comes
//     online are not the full picture), whose entries were discarded
//     (Config.DiscardWhileOffline) or one of whose entries was evicted.
//   - Joining while online (XEP-0405 §2.9, §2.9.3): once a join is confirmed
//     and in the roster, Handler.Joined sends the channel the current
//     presence of each of the user's MIX-capable clients that is online
//     (when the user shares presence with it), and refreshes the channel:
//     the presence the channel sends right after the join can arrive before
//     the roster holds the channel, and is then dropped as from a channel
//     the user has not joined.
//   - Leaving: Handler.Left forgets the channel's cached presence and sends
//     the user's MIX-capable clients unavailable presence from each of its
//     senders (XEP-0405 is silent; RFC 6121 §3.2 does the same when a
//     presence subscription is cancelled).
//   - Blocking (XEP-0191 §3.3, §3.4, XEP-0405 §2.12): presence from a
//     blocked sender is cached but not delivered; Handler.BlocklistChanged
//     (a blocking.PresenceUpdater) shows the user's clients a sender just
//     blocked as offline and one just unblocked as the cache has it now, and
//     sends a channel just blocked or unblocked the end or the return of the
//     user's presence.
//   - Probes (XEP-0403 §5, RFC 6121 §4.3): a channel's probe is answered with
//     the presence of the user's MIX-capable clients only, or unavailable
//     presence from the bare JID when none is online.
//
// Encoded JIDs are split by internal/mixjid, shared with package blocking:
// at the first '#', the participant id non-empty and free of '#', '/' and
// '@' (XEP-0369 §4.6 "Stable Participant ID"), anything else not an
// encoded JID.
//
// # Wiring a host
//
// New takes a Config with the host's host.Sessions (which sessions are MIX
// capable, XEP-0405 §2.1), host.Router and roster.Reader (roster.Store is
// one). The host then calls:
//
//   - Handler.Outbound with every presence broadcast of a local session
//     (no to; available or unavailable), and leaves channel items out of its
//     own RFC 6121 broadcast;
//   - Handler.Disconnected when a session ends (it does nothing when the
//     session already sent unavailable presence);
//   - Handler.Inbound with every presence addressed to a local user's bare
//     JID, before its own processing, going on with it only when Inbound
//     returns host.ErrNotHandled. This covers channel probes, which the
//     host must not answer itself;
//   - Handler.Directed before routing a session's directed presence (not
//     subscriptions), dropping it when Directed refuses: presence of a
//     client that is not MIX capable never reaches a joined channel
//     (XEP-0405 §2.9);
//   - Handler.Joined and Handler.Left once a join or leave is confirmed and
//     recorded in the roster: pam.JoinHandler does this when its
//     JoinConfig.Presence is the Handler.
//
// The stanza's header is a mellium stanza.Presence and its children an
// xml.TokenReader, as a host has them after reading the start element
// (stanza.NewPresence, then xmlstream.Inner of the decoder).
//
// A session comes online, for this package, with the first available
// presence Outbound sees from it while the host's Sessions reports it MIX
// capable; the handler remembers which sessions are online itself, so the
// order in which the host updates its Sessions does not matter. When MIX
// capability is learnt after the initial presence (XEP-0115 caps resolved
// later), the host calls Outbound again with the session's presence.
//
// # Guarantees and limits
//
// The handler holds no lock while it calls the host, so a Router may call
// back into it synchronously (an in-process channel answering at once).
// Channel presence that arrives while a client's cached presence is being
// delivered reaches that client after the cache, never before what it
// supersedes.
//
// The cache is bounded per user and in total (Config.Cache); past a bound the
// least recently updated entry is evicted (Stats.Evicted) and its channel
// refreshed when a client next comes online. By default the cache is kept
// while the user has no MIX-capable client online; Config.DiscardWhileOffline
// drops it instead, as XEP-0405 §2.9.2 allows. A refresh in progress ends
// with the channel's first presence (or error) or after Config.RefreshTimeout.
//
// Hostile input never panics and changes nothing: presence that claims to
// be from a channel the user has not joined, or from a peer the optional
// BlockFilter blocks, is dropped without an answer (XEP-0191 §3.3 and RFC
// 6121 §8.5: presence errors would reveal the account). Debug logging goes
// to the Logger option.
//
// # Performance
//
// Channel presence is rendered once and spliced per client
// (internal/splice); see BenchmarkInboundFanOut and BenchmarkCacheMemory for
// figures against a byte-copy baseline.
package presence
