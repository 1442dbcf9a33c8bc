// Package cluster runs mixpam's host seams across several server nodes over
// NATS (https://nats.io): a Node is a host.Sessions, host.FlagSetter,
// host.ResourceAppender and host.RawRouter that any Go XMPP server can use in
// place of host.MemSessions and its own router once it runs on more than one
// machine.
//
// Sessions live in a JetStream key-value bucket, one key per bound resource.
// Every node keeps a local copy of the bucket fed by a watch, so Resources
// (which the groupchat fan-out of XEP-0405 §2.2 calls for every message) is a
// read of local memory, as with host.MemSessions. A node's own writes wait
// until its copy has applied them, so a node reads its own writes.
//
// Each node announces itself by a heartbeat key in a second bucket whose
// keys expire: when a node dies, its key expires within Config.HeartbeatTTL,
// every other node drops the dead node's sessions from its copy and deletes
// them from the bucket.
//
// Route and RouteRaw deliver a stanza for a session bound on another node by
// publishing it to that node's subject; the receiving node hands it to its
// own local router. One node's stanzas to one recipient arrive in the order
// they were routed: one connection publishes them and one subscription
// delivers them, in order. Delivery between nodes is core NATS, at most
// once, like a stream to a peer server (RFC 6120 §10).
//
// Per-user state (the presence cache, roster locks, join lanes of mixpam's
// handlers) stays in one process: the owner node of the user, chosen by
// rendezvous hashing over the live nodes (Owner). ToOwner hands a stanza or
// event to the owner, which acknowledges it; a dead owner's "no responders"
// sends it on to the next node at once. Config.Moved tells the host when
// owners change, so that it can tell the new owners about its sessions.
//
// A Node is also a host.Exchanger: it tags the ids of the IQs it sends
// with its ID, so that an answer reaching any node (Receive, which the host
// calls for every IQ answer before routing it) is forwarded to the node
// that waits for it and matched there as strictly as on one node; the
// answer Exchange returns carries the request's own id. exchange.go
// explains the choice against a shared table of pending requests.
package cluster
