// Package mixservice is the example server's built-in MIX service: MIX core
// (XEP-0369, urn:xmpp:mix:core:1) and MIX presence (XEP-0403), in process
// and in memory. It takes the stanzas the server routes to its domain
// (Deliver) and sends everything through the server's router, with from set
// to the service, channel or encoded participant JIDs it owns, exactly as a
// remote MIX service would: it talks to the participant side (XEP-0405,
// package pam and friends) through routing only.
//
// # What it implements
//
//   - Discovery (XEP-0369 §6): disco#info of the service (identity
//     conference/mix, urn:xmpp:mix:core:1 and #create-channel, §6.1, §7.3.1)
//     and of each channel (§6.3); disco#items of the service (its channels,
//     ad hoc ones left out, §6.2) and of a channel with node='mix' (its
//     nodes; without it the query is rejected, §6.4); the info and
//     participants nodes read with pubsub items requests (§6.5, §6.6).
//   - Channel administration: <create channel='…'/> (§7.3.2) and ad hoc
//     <create/> (§7.3.3, a random name) sent to the service;
//     <destroy channel='…'/> (§7.3.4) by the channel's owner, the bare JID
//     that created it.
//   - Join (§7.1.2): from the user's bare JID only, as the participant server
//     sends it (XEP-0405 §2.7; a client's own full JID gets not-allowed).
//     The nick is required (§4.7.3 "this is the default behaviour"),
//     normalised with the PRECIS Nickname profile (RFC 8266, §7.1.4) and
//     unique in the channel (conflict otherwise). The nodes messages,
//     presence, participants and info can be subscribed; unknown nodes are
//     left out of the result, and when nodes were requested and none could
//     be subscribed the join fails with item-not-found (§7.1.2). The result
//     carries the Stable Participant ID in id (XEP-0369) and the encoded
//     participant JID in jid (XEP-0405 Listing 6). A participant joining
//     again keeps its id and gets its subscriptions replaced.
//   - Leave (§7.1.3), setnick (§7.1.4) and update-subscription (§7.1.2).
//     Leave is idempotent: a user who is not a participant, or a channel
//     that no longer exists, gets a result, so that the user's server can
//     always take the channel out of the roster.
//   - Messages (§7.1.6): a groupchat message from a participant is sent to
//     the bare JID of every participant subscribed to the messages node,
//     the sender included, from channel@service/participant-id, with the
//     channel's own id (a random UUID, XEP-0359 §3 "SHOULD be
//     unpredictable") as message id and in <stanza-id by='channel@service'/>
//     and with <mix xmlns='urn:xmpp:mix:core:1'><nick/><jid/></mix>. <jid>
//     holds the sender's real bare JID: channels here are JID-visible, and
//     §7.1.6 asks for "the real JID of the sender" unless MIX-ANON's JID
//     Hidden model is followed. Everything else the sender put in the
//     message is kept, except <mix/> elements of MIX core and stanza-ids by
//     the channel (XEP-0359 §3 rule 2), which could only be forged. A
//     message from a non-participant gets forbidden.
//   - Participants node notifications (§7.1.2, §7.1.3): join and nick
//     changes publish the participant's item, leave retracts it, to the bare
//     JIDs of the participants subscribed to the node.
//   - Presence (XEP-0403 §4, XEP-0405 §2.9): a participant's client presence
//     (from its full JID) is stored and sent to every participant
//     subscribed to the presence node, from
//     participant-id#channel@service/resource, with
//     <mix xmlns='urn:xmpp:mix:presence:0'><jid>client full JID</jid>
//     <nick/></mix>; unavailable presence removes it. Directed presence or a
//     probe from a participant's bare JID (XEP-0405 §2.9.3), and subscribing
//     to the presence node, bring that user the full current presence of
//     the channel. Leaving sends unavailable presence for each of the
//     leaver's clients (XEP-0403 §4.4). A nick change sends the
//     participant's presence again with the new nick (XEP-0403 §2
//     requirement 3). Subscription requests and presence to anything but a
//     channel are ignored.
//
// The service sends no presence probes: XEP-0403 §5 has a channel probe its
// participants when it starts, and this service starts with no channels.
// There is no channel MAM (the participant's server archives, XEP-0405
// §2.11), so channels do not advertise urn:xmpp:mam:2 although XEP-0369 §6.3
// says they must; MAM queries get feature-not-implemented. IQ relay through
// encoded JIDs (XEP-0403 §4.5, optional) and private messages (XEP-0404)
// are not offered: service-unavailable.
//
// # Errors and hostile input
//
// Every IQ get or set gets exactly one answer, a result or an RFC 6120
// stanza error with a text: item-not-found for a channel or node that does
// not exist, forbidden for a non-participant or a non-owner, not-allowed
// for a join or leave not from a bare JID, not-acceptable for an unusable
// nick or channel name, conflict for a taken nick or channel, bad-request
// for a malformed request (and for channel disco#items without
// node='mix'), service-unavailable for a namespace the service does not
// know, feature-not-implemented for a known one it does not implement,
// jid-malformed for an unparsable to, resource-constraint or
// policy-violation past a limit. Messages other than errors are answered
// the same way; presence errors are sent for available presence and
// probes that cannot be accepted, never for unavailable presence. Errors
// and IQ results are never answered. The exceptions are stanzas that
// cannot be answered: Deliver returns an error, and answers nothing, when
// raw is not a stanza or its from is missing or malformed; and it drops,
// without an answer, stanzas that claim to come from the service's own
// domain, since only the service speaks for it and answering them could
// loop.
//
// Nothing hostile input can do grows state past the Limits: channels in
// total and per owner, participants per channel, nick and channel name
// lengths, stored presence per participant and its size, and stanzas
// waiting to be routed per channel. Channel names may not contain '#', so
// that a channel's JID is never read as an encoded participant JID
// (internal/mixjid, XEP-0405 §2.12), and must be given in their canonical
// (case-folded) form, since the create result "MUST match the channel name
// in the request" (XEP-0369 §7.3.2). DefaultLimits lists the defaults.
//
// Channels and Channel describe the state, for tests and tools.
//
// # Delivery
//
// Deliver parses the stanza, changes state under one lock and queues what it
// has to send on the channel's outbox (or the service's), then routes the
// queue unless another Deliver is already doing so; it never waits for
// another Deliver. So a channel's stanzas leave in the order its state
// changed (every participant sees the messages in the same order), the Router
// may call Deliver again from inside Route (an in-process participant
// server answering at once), and Deliver blocks only as long as the Router
// takes. Stanzas accepted for sending are routed with a context detached
// from the caller's, so that one client hanging up does not lose what the
// others should get.
package mixservice
