// Package mixpam routes a host's stanzas to mixpam's handlers: the dispatch
// table of the participant server (XEP-0405 §2) as code.
//
// A host builds the handlers of the packages pam, roster, archive,
// presence, blocking and disco over its own sessions, router and stores,
// gives them to NewDispatcher, and hands the Dispatcher every stanza a
// local account receives or a client sends to its own account, with from
// stamped (RFC 6120 §8.1.2.1). What the Dispatcher reports as
// host.ErrNotHandled the host delivers as usual (RFC 6121 §8).
//
//	stanza                                   handler
//	IQ result or error                       host.Exchange (answers mixpam waited for)
//	IQ request to the account's bare JID     the host.IQHandler registered for its payload
//	                                         (client-join/leave, roster, MAM, XEP-0191, disco#info)
//	groupchat message to a bare JID          pam.FanOut (XEP-0405 §2.2, §2.11)
//	a client's broadcast presence            presence.Handler.Outbound, and its XEP-0115
//	                                         caps to disco.Resolver (§2.1, §2.9)
//	presence to a bare JID                   presence.Handler.Inbound (§2.9)
//
// The Dispatcher also collects the disco#info features of its handlers
// (Features) and answers disco#info on the account with them, so that no
// feature a handler implements (urn:xmpp:sid:0, which the fan-out enforces,
// say) can be left out.
//
// # Constructors
//
// Every handler and filter a host wires is built the same way: one config
// struct named for what it builds (roster.HandlerConfig, blocking.FilterConfig,
// presence.Config, pam.JoinConfig, archive.MAMConfig, disco.ResolverConfig,
// Config, …), whose zero fields mean documented defaults, and a constructor
// that returns the value or an error naming the missing required field or
// the bad value. No constructor panics. In-memory stores (roster.NewMemStore
// and the like) and adapters of one value (blocking.StoreChecker,
// host.NewExchange) need no config and take their argument directly.
package mixpam
