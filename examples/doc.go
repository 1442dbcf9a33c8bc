// Package examples holds runnable programs that show mixpam wired into a
// server. examples/memserver is a complete XMPP server on in-memory stores
// with a built-in MIX service. examples/melliumserver is a short server on
// mellium's own xmpp.Session and mux.ServeMux, the second reference host;
// examples/memserver/mixcomponent runs the memserver's MIX service as an
// XEP-0114 component of it (or of any server).
package examples
