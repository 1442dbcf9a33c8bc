package hosttest

import (
	"fmt"

	"github.com/mixpam/mixpam/internal/xmltree"
	"github.com/mixpam/mixpam/ns"
)

// stanzaTree parses raw, one stanza as it would be written into a client
// stream (default namespace jabber:client), and returns its tree as events
// that compare equal for equal stanzas (see internal/xmltree). It fails when
// raw is not exactly one namespace-well-formed element, including when an
// element repeats an attribute, which encoding/xml's Decoder does not
// reject but other parsers do.
func stanzaTree(raw []byte) ([]string, error) {
	events, n, err := xmltree.Events(raw, ns.Client)
	if err != nil {
		return nil, err
	}
	if n != 1 {
		return nil, fmt.Errorf("%d top-level elements, want one stanza", n)
	}
	return events, nil
}
