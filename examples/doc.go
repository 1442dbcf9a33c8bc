// Package examples holds runnable programs that show mixpam wired into a
// server. examples/memserver is a complete XMPP server on in-memory stores
// with a built-in MIX service.
package examples
