// Package internal is the parent of mixpam's shared mechanics: XML token
// encoding (xmlenc), encoded MIX JIDs (mixjid) and namespace names (ns).
// Nothing here is part of the public API.
package internal
