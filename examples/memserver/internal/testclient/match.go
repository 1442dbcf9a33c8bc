package testclient

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"strings"

	"github.com/mixpam/mixpam/examples/memserver/internal/packet"
)

// ByID matches stanzas with the given id.
func ByID(id string) func(packet.Packet) bool {
	return func(p packet.Packet) bool { return p.ID == id }
}

// Kind matches stanzas of one kind and type ("" matches any type).
func Kind(k packet.Kind, typ string) func(packet.Packet) bool {
	return func(p packet.Packet) bool { return p.Kind == k && (typ == "" || p.Type == typ) }
}

// Contains matches stanzas of kind k whose serialisation contains all of
// parts.
func Contains(k packet.Kind, parts ...string) func(packet.Packet) bool {
	return func(p packet.Packet) bool {
		if p.Kind != k {
			return false
		}
		for _, s := range parts {
			if !strings.Contains(string(p.Raw), s) {
				return false
			}
		}
		return true
	}
}

func randomID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func ignoreClosed(err error) error {
	if err == nil || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
