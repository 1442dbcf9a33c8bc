package wire

import (
	"errors"

	"mellium.im/xmpp/stream"

	"github.com/mixpam/mixpam/host"
)

// nsStreamErrors is the namespace of stream error conditions (RFC 6120 §4.9.3).
const nsStreamErrors = "urn:ietf:params:xml:ns:xmpp-streams"

// Error is a stream error (RFC 6120 §4.9): the stream is closed after it is
// sent.
type Error struct {
	// Cond is the defined condition, one of mellium's stream error values
	// such as stream.HostUnknown; only its Err field is used.
	Cond stream.Error
	// Text is a human-readable description, or "".
	Text string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Text == "" {
		return "stream error: " + e.Cond.Err
	}
	return "stream error: " + e.Cond.Err + ": " + e.Text
}

// Append appends the <stream:error/> element.
func (e *Error) Append(dst []byte) []byte {
	dst = append(dst, `<stream:error><`...)
	dst = append(dst, e.Cond.Err...)
	dst = append(dst, ` xmlns="`+nsStreamErrors+`"/>`...)
	if e.Text != "" {
		dst = append(dst, `<text xmlns="`+nsStreamErrors+`">`...)
		dst = host.AppendEscaped(dst, e.Text, false)
		dst = append(dst, `</text>`...)
	}
	return append(dst, `</stream:error>`...)
}

// TimeoutError returns the connection-timeout stream error (RFC 6120
// §4.9.3.4) with text when err is a read or write timeout, else nil.
func TimeoutError(err error, text string) *Error {
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return &Error{Cond: stream.ConnectionTimeout, Text: text}
	}
	return nil
}
