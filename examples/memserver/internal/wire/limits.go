package wire

import "mellium.im/xmpp/stream"

// Defaults of Limits, after authentication (docs/security.md).
const (
	// DefaultBytes is the default size limit of one element.
	DefaultBytes = 262144
	// DefaultDepth is the default nesting limit: real stanzas nest a
	// dozen levels at most (a forwarded message in a MAM result, a data
	// form in a pubsub item).
	DefaultDepth = 64
	// DefaultTokens is the default limit of tokens in one element.
	DefaultTokens = 8192
)

// Limits bound one top-level element. They are checked as the element
// arrives: the reader fails as soon as one is exceeded, with the stream
// error policy-violation, and has then held at most about
// Bytes + Tokens × (size of a token) + Depth × (size of an open element)
// for it (docs/security.md states the measured figures).
type Limits struct {
	// Bytes is the most bytes an element may take, counted from the end of
	// the previous one (whitespace between elements is free). Zero means
	// DefaultBytes.
	Bytes int64
	// Depth is the deepest nesting allowed; the top-level element is at
	// depth 1. Zero means DefaultDepth.
	Depth int
	// Tokens is the most tokens an element may have: each start tag,
	// attribute (namespace declarations included), end tag and run of text
	// counts one. Zero means DefaultTokens.
	Tokens int
}

func (l Limits) withDefaults() Limits {
	if l.Bytes <= 0 {
		l.Bytes = DefaultBytes
	}
	if l.Depth <= 0 {
		l.Depth = DefaultDepth
	}
	if l.Tokens <= 0 {
		l.Tokens = DefaultTokens
	}
	return l
}

func (l Limits) checkDepth(depth int) error {
	if depth > l.Depth {
		return &Error{Cond: stream.PolicyViolation, Text: "element nested too deeply"}
	}
	return nil
}

func (l Limits) checkTokens(n int) error {
	if n > l.Tokens {
		return &Error{Cond: stream.PolicyViolation, Text: "element has too many parts"}
	}
	return nil
}
