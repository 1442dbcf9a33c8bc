package cluster_test

import (
	"context"
	"encoding/xml"
	"sync"

	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
)

// deliveries is a node's local router in these tests: it records what it
// was given per recipient, and lets a test wait for it.
type deliveries struct {
	mu      sync.Mutex
	got     map[string][][]byte
	changed chan struct{}
}

var _ host.RawRouter = (*deliveries)(nil)

func newDeliveries() *deliveries {
	return &deliveries{got: map[string][][]byte{}, changed: make(chan struct{})}
}

func (d *deliveries) Route(_ context.Context, to jid.JID, stanza xml.TokenReader) error {
	raw, err := xmlenc.Append(nil, stanza, ns.Client)
	if err != nil {
		return err
	}
	d.add(to, raw)
	return nil
}

func (d *deliveries) RouteRaw(_ context.Context, to jid.JID, raw []byte) error {
	d.add(to, append([]byte(nil), raw...))
	return nil
}

func (d *deliveries) add(to jid.JID, raw []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.got[to.String()] = append(d.got[to.String()], raw)
	close(d.changed)
	d.changed = make(chan struct{})
}

// to returns what was delivered to to so far.
func (d *deliveries) to(to jid.JID) [][]byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([][]byte(nil), d.got[to.String()]...)
}

// wait returns a channel closed at the next delivery.
func (d *deliveries) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.changed
}

// reset forgets what was delivered.
func (d *deliveries) reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	clear(d.got)
}
