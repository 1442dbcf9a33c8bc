// Package interop tests the example server, examples/memserver, with a real
// client: slixmpp 1.8.3 as Debian packages it (python3-slixmpp), through its
// plugins xep_0030, xep_0115, xep_0369 (MIX core), xep_0405 (MIX-PAM),
// xep_0313 (MAM) and xep_0191 (blocking).
//
// The tests are behind the build tag interop, since they need
// /usr/bin/python3 with slixmpp installed:
//
//	apt-get install -y python3-slixmpp
//	go test -race -tags interop ./examples/memserver/interop/
//
// They build the server once (with the race detector when the tests run
// with -race), start it on a free loopback port for each test, and run the
// scenarios in slix/ as separate processes with a hard timeout. Each
// scenario prints one JSON line of what it observed, which the Go test
// checks. When a test fails, its output holds the server's debug log and
// slixmpp's stanza trace.
//
// What they cover:
//   - log-in with SCRAM-SHA-256, SCRAM-SHA-1 and PLAIN, over STARTTLS and,
//     with -tls off, over plain TCP; a wrong password refused with each;
//     the stream features before TLS (STARTTLS required, no SASL);
//   - the account's disco#info advertising MIX-PAM (XEP-0405 §2.4); the
//     clients' MIX capability learnt from XEP-0115 caps, or from the
//     client's disco#info when its presence has no caps (§2.1);
//   - channel creation and discovery on the built-in MIX service
//     (XEP-0369 §6, §7.3.2); join and leave through the participant server
//     with xep_0405 (XEP-0405 §2.7, §2.8) and the roster pushes that follow
//     (§2.9); the annotated roster with participant ids (§2.10); the
//     participants node and its notifications (XEP-0369 §7.1.2);
//   - groupchat delivery to every MIX client of the user (XEP-0405 §2.2);
//     the user's archive with xep_0313, for messages received online and
//     offline, in one page and paged with RSM (§2.11, XEP-0313, XEP-0059);
//   - channel presence both ways (XEP-0405 §2.9.1–2.9.4, XEP-0403);
//   - blocking one channel participant by its encoded JID (XEP-0405 §2.12,
//     XEP-0191): its groupchat and presence stop, the client sees it go
//     offline at the block and its current presence again at the unblock
//     (XEP-0191 §3.3, §3.4);
//   - clients in the orders real clients use (slix/clients.py): a join
//     before any presence, a client that never sends presence nor gets the
//     roster, a negative priority, participants-node notifications to a
//     bare JID none of whose clients may take them, a client-join sent to
//     another user's account (forbidden), a client that comes and goes
//     while channel traffic flows, and roster pushes only to the clients
//     that requested the roster (RFC 6121 §2.1.6).
package interop
