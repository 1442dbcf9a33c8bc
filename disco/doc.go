// Package disco is service discovery for the participant server: it
// advertises urn:xmpp:mix:pam:2 (and urn:xmpp:mix:pam:2#archive when the
// server archives MIX messages) on the account's bare JID (XEP-0405 §2.4),
// and decides which clients are MIX capable from their disco#info features
// or XEP-0115 entity capabilities (XEP-0405 §2.1).
//
// # Advertising MIX support on the account
//
// Features is an info.FeatureIter yielding mixpam's two features. Account
// answers disco#info requests addressed to an account's bare JID on the
// account's behalf (XEP-0030 §3.1): the identity account/registered, the
// disco#info feature, mixpam's features and whatever identities and features
// the host adds (its MAM or blocking support, say). Account is a
// host.IQHandler, as every mixpam IQ handler is: ServeIQ takes the
// request's header and payload and answers through the host.ReplyFunc it
// is given; it returns host.ErrNotHandled for IQs that are not requests to an
// account, which the host routes elsewhere. Handle adapts it to mellium's
// mux.
//
// Who gets what is this package's choice, as XEP-0030 leaves it to the
// server (§6.3, §8). The account's owner — any of its clients, which XEP-0405
// §2.4 has query their own bare JID, usually with no to at all — gets
// everything. Anyone else gets service-unavailable, whether the account
// exists or not, unless the host's Authorizer admits them (XEP-0030 §8 asks
// for a presence subscription or trust); admitted requesters get the
// identities, disco#info and the features the host marks public, but not
// mixpam's features, which XEP-0405 §2.4 addresses to the account's clients.
//
// # Finding MIX-capable clients
//
// A client supporting MIX lists urn:xmpp:mix:core:1 in its disco#info
// (XEP-0369 §6.7); Info.MIXCapable reads that from a parsed result
// (ParseInfo). Clients usually advertise their features through XEP-0115
// caps in presence (ParseCaps). Resolver maps caps to MIX capability: from a
// bounded cache of verification strings, or by querying the client through a
// host.Exchanger. It caches only answers whose recomputed verification
// string (VerificationString, XEP-0115 §5.1) matches the advertised one, so a
// lying client cannot poison the cache for others (§5.4); an answer that
// cannot be verified still decides for the client that gave it (§5.4 step
// 2.3). Resolver.Update records the result with a host.FlagSetter.
package disco
