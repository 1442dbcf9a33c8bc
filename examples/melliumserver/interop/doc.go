// Package interop tests examples/melliumserver with a real client: the
// slixmpp scenarios of examples/memserver/interop/slix (Debian's
// python3-slixmpp), pointed at the mellium-based server, with the
// memserver's MIX service connected to it as an XEP-0114 component
// (examples/memserver/mixcomponent).
//
// The tests are behind the build tag interop:
//
//	apt-get install -y python3-slixmpp
//	go test -race -tags interop ./examples/melliumserver/interop/
//
// They build both programs once (with the race detector when the tests run
// with -race), start them on free loopback ports for each test, and check
// what each scenario observed: join and leave through the server with the
// roster pushes and the annotated roster (XEP-0405 §2.7–2.10), groupchat
// fan-out to every MIX client with the user's stanza-id (§2.2), the
// archive with MAM, paged and extended (§2.11, XEP-0313), channel presence
// both ways (§2.9, XEP-0403), blocking an encoded participant JID
// (§2.12, XEP-0191), and clients in the orders real clients use.
package interop
