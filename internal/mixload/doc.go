// Package mixload is the engine of the mixload command: a load client for
// any XMPP server with MIX-PAM (XEP-0405) and a MIX service (XEP-0369). It
// logs participants in (STARTTLS or plain TCP, SCRAM or PLAIN), creates
// fresh channels (XEP-0369 §7.3.2), joins every participant through
// client-join (XEP-0405 §2.7), waits until every resource receives channel
// traffic (the server has found it MIX capable, XEP-0405 §2.1), posts
// groupchat messages carrying their send time and sequence number
// (XEP-0369 §7.1.6), and accounts for every delivery: expected, received,
// lost, duplicated, out of order, with latency percentiles and the CPU time
// of both sides.
//
// Its client is lean on purpose: it cuts the stream into stanzas by
// scanning bytes and reads only the few attributes it needs, so that it
// costs far less per delivery than the server it measures (the summary
// shows both). Run refuses addresses off loopback and bounds every run in
// size (MaxParticipants and friends) and time (Config.Timeout).
package mixload
