// Package internal is the parent of mixpam's shared mechanics. Nothing here
// is part of the public API.
//
//   - xmlenc: token streams to bytes and back, written once per namespace
//     (Append, Marshal, EncoderTokens), and Guard for untrusted readers.
//   - splice: capture a stanza once and render copies differing only in
//     their to (the fan-out of XEP-0405 §2.2 and the presence relay of §2.9).
//   - mixjid: the one parser of encoded JIDs participant#channel@service
//     (XEP-0403 §3.2, XEP-0405 §2.12).
//   - kit: the plumbing of the conformance kits (rostertest, archivetest,
//     blockingtest, hosttest).
//   - rawstanza: stanza framing rendered as bytes, as host.RawRouter takes
//     stanzas, and the stanza errors the handlers answer with.
//   - xmltree: serialised XML as canonical events, for tests that compare
//     serialisations and reject what is not namespace-well-formed.
//   - xmltok: the small readers of untrusted token streams every parser
//     needs (an attribute, an element's namespace, skipping an element, an
//     element's text), shared instead of copied per package.
package internal
