package mixpam

import (
	"bytes"
	"context"
	"encoding/xml"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/mixpam/mixpam/disco"
	"github.com/mixpam/mixpam/internal/xmlenc"
	"github.com/mixpam/mixpam/ns"
)

// capsState is what the Dispatcher knows of one session's caps (XEP-0115)
// and broadcast presence.
type capsState struct {
	// mu orders the session's presence to the presence handler: the
	// presence the client sends, and the replay after its caps resolved.
	mu     chan struct{}
	caps   disco.Caps
	seen   bool
	busy   bool // a resolution is running
	gone   bool // the session ended
	header stanza.Presence
	latest []byte // the children of the latest available presence
	online bool   // the latest presence is available (latest may be empty)
}

func (st *capsState) lock()   { st.mu <- struct{}{} }
func (st *capsState) unlock() { <-st.mu }

// outbound gives a client's broadcast presence to the presence handler
// and, with a Resolver, finds out the client's MIX capability (XEP-0405
// §2.1) from its caps: at once from the Resolver's cache, or by asking the
// client on a goroutine of its own, after which the client's current
// presence goes to the presence handler again (it then comes online in its
// channels).
func (d *Dispatcher) outbound(ctx context.Context, p stanza.Presence, r xml.TokenReader) error {
	if d.cfg.Resolver == nil || p.From.Resourcepart() == "" {
		return d.cfg.Presence.Outbound(ctx, p, r)
	}
	raw, err := xmlenc.Append(nil, r, ns.Client)
	if err != nil {
		return err
	}
	st := d.capsState(p.From)
	st.lock()
	defer st.unlock()
	switch p.Type {
	case stanza.AvailablePresence:
		c, found, err := disco.ParseCaps(decode(raw))
		if err != nil || !found {
			c = disco.Caps{}
		}
		st.header, st.latest, st.online = p, raw, true
		if !st.seen || st.caps != c {
			st.caps, st.seen = c, true
			if capable, ok := d.cfg.Resolver.Cached(c); ok {
				if err := d.cfg.Flags.SetMIXCapable(ctx, p.From, capable); err != nil {
					d.log.DebugContext(ctx, "mixpam: MIX capability not recorded", "client", p.From.String(), "err", err)
				}
			} else if !st.busy {
				st.busy = true
				d.wg.Add(1)
				go d.resolve(context.WithoutCancel(ctx), p.From, st)
			}
		}
	case stanza.UnavailablePresence:
		st.latest, st.online = nil, false
	}
	return d.cfg.Presence.Outbound(ctx, p, decode(raw))
}

// capsState returns the state of session full, made on first use.
func (d *Dispatcher) capsState(full jid.JID) *capsState {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.caps[full.String()]
	if st == nil {
		st = &capsState{mu: make(chan struct{}, 1)}
		d.caps[full.String()] = st
	}
	return st
}

// resolve asks the Resolver about the session's caps until they stop
// changing, records the answer, and replays the session's presence when
// it is MIX capable. Each query is bounded by the Resolver's Timeout.
func (d *Dispatcher) resolve(ctx context.Context, full jid.JID, st *capsState) {
	defer d.wg.Done()
	for {
		st.lock()
		c := st.caps
		st.unlock()
		capable, err := d.cfg.Resolver.MIXCapable(ctx, full, c)
		st.lock()
		if st.caps != c && !st.gone {
			// The client advertised other caps meanwhile: this verdict
			// is stale, and recording it would let channel traffic reach
			// (or miss) a client by caps it no longer has.
			st.unlock()
			continue
		}
		if err == nil && !st.gone {
			err = d.cfg.Flags.SetMIXCapable(ctx, full, capable)
		}
		if err != nil {
			d.log.DebugContext(ctx, "mixpam: MIX capability unknown", "client", full.String(), "err", err)
		}
		st.busy = false
		if err == nil && capable && !st.gone && st.online {
			if err := d.cfg.Presence.Outbound(ctx, st.header, decode(st.latest)); err != nil {
				d.log.DebugContext(ctx, "mixpam: presence to channels", "client", full.String(), "err", err)
			}
		}
		st.unlock()
		return
	}
}

func decode(raw []byte) xml.TokenReader { return xml.NewDecoder(bytes.NewReader(raw)) }
