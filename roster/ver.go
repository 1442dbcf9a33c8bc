package roster

import (
	"strconv"
	"strings"
)

// annotatedVer marks the roster versions that annotated sessions see.
//
// A client caches its roster together with the ver attribute of the last
// result or push (RFC 6121 §2.6). A client that cached a plain roster and
// now asks for annotations (XEP-0405 §2.10) must not be told "your cache is
// current": its cache lacks the <channel/> elements. So annotated sessions
// see version V as V+"+mix" and plain sessions see V, and a client's version
// only matches when it was cached in the same annotation state it now asks
// for. Versions are opaque to clients (RFC 6121 §2.1.1), so this is allowed.
const annotatedVer = "+mix"

// appendSessionVer appends the ver attribute value that a session sees for
// roster version ver.
func appendSessionVer(dst []byte, ver uint64, annotate bool) []byte {
	dst = strconv.AppendUint(dst, ver, 10)
	if annotate {
		dst = append(dst, annotatedVer...)
	}
	return dst
}

// sessionVer is appendSessionVer for a version that is already a string, as
// a host's own roster module produces it.
func sessionVer(ver string, annotate bool) string {
	if annotate {
		return ver + annotatedVer
	}
	return ver
}

// cachedVer returns the roster version that a client's ver attribute names,
// given whether the request asks for annotations. ok is false when the
// client's cache was made in the other annotation state, and so cannot be
// current whatever its version.
func cachedVer(clientVer string, annotate bool) (ver string, ok bool) {
	v, annotated := strings.CutSuffix(clientVer, annotatedVer)
	if annotated != annotate {
		return "", false
	}
	return v, true
}
