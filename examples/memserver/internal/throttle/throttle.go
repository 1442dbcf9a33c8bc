// Package throttle limits password guessing, in the spirit of ejabberd's
// mod_fail2ban: failed authentications are counted per source address and
// per account; an address with too many failures is refused for a while,
// and an account with too many failures (from any number of addresses) is
// closed for a while to every address that has failed recently, while an
// address with a clean record may still try it, so that guessing cannot
// lock a user out.
//
// Its clock is injectable, so tests do not sleep; its memory is bounded:
// at most Config.MaxEntries addresses and as many accounts are tracked.
package throttle

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// Defaults of Config.
const (
	DefaultAddrFailures    = 10
	DefaultAccountFailures = 30
	DefaultBan             = 5 * time.Minute
	DefaultMaxEntries      = 100000
)

// Config configures a Guard. Zero fields take the defaults.
type Config struct {
	// AddrFailures is how many failures one address may have within Ban
	// before it is refused for Ban. Default DefaultAddrFailures.
	AddrFailures int
	// AccountFailures is how many failures one account may have within
	// Ban before it is closed, for Ban, to addresses with a failure on
	// record. Default DefaultAccountFailures.
	AccountFailures int
	// Ban is both the period over which failures are counted and how long
	// a refusal lasts. Default DefaultBan.
	Ban time.Duration
	// MaxEntries bounds the addresses (and the accounts) tracked; when
	// full, the entry whose period started first is dropped. Default
	// DefaultMaxEntries.
	MaxEntries int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Guard counts failures and says who may try. It is safe for concurrent
// use.
type Guard struct {
	cfg Config

	mu       sync.Mutex
	addrs    map[string]*record
	accounts map[string]*record
}

// record is the failures of one address or account in the current period.
type record struct {
	first  time.Time // start of the counting period
	count  int
	banned time.Time // refused until then (zero: not refused)
}

// New returns a Guard.
func New(cfg Config) *Guard {
	if cfg.AddrFailures <= 0 {
		cfg.AddrFailures = DefaultAddrFailures
	}
	if cfg.AccountFailures <= 0 {
		cfg.AccountFailures = DefaultAccountFailures
	}
	if cfg.Ban <= 0 {
		cfg.Ban = DefaultBan
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Guard{cfg: cfg, addrs: make(map[string]*record), accounts: make(map[string]*record)}
}

// AddrBanned reports whether addr is refused now, and until when.
func (g *Guard) AddrBanned(addr string) (bool, time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.live(g.addrs, addr, g.cfg.Now())
	if r == nil || r.banned.IsZero() {
		return false, time.Time{}
	}
	return true, r.banned
}

// Allowed reports whether addr may try to authenticate as account now:
// the address is not refused, and the account is not closed to it.
func (g *Guard) Allowed(addr, account string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.cfg.Now()
	a := g.live(g.addrs, addr, now)
	if a != nil && !a.banned.IsZero() {
		return false
	}
	acc := g.live(g.accounts, account, now)
	return acc == nil || acc.banned.IsZero() || a == nil
}

// Fail records a failed authentication from addr as account (account ""
// when the attempt named none). It reports whether addr is now refused.
func (g *Guard) Fail(addr, account string) (banned bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.cfg.Now()
	if account != "" {
		g.count(g.accounts, account, g.cfg.AccountFailures, now)
	}
	return g.count(g.addrs, addr, g.cfg.AddrFailures, now)
}

// count adds a failure to key's record and bans it at limit.
func (g *Guard) count(m map[string]*record, key string, limit int, now time.Time) bool {
	r := g.live(m, key, now)
	if r == nil {
		if len(m) >= g.cfg.MaxEntries {
			g.evict(m, now)
		}
		r = &record{first: now}
		m[key] = r
	}
	r.count++
	if r.count >= limit && r.banned.IsZero() {
		r.banned = now.Add(g.cfg.Ban)
	}
	return !r.banned.IsZero()
}

// live returns key's record, dropping it once its period (and ban) ended.
func (g *Guard) live(m map[string]*record, key string, now time.Time) *record {
	r := m[key]
	if r == nil {
		return nil
	}
	if now.Before(r.first.Add(g.cfg.Ban)) || now.Before(r.banned) {
		return r
	}
	delete(m, key)
	return nil
}

// evict makes room: expired records go, and if none had, the oldest.
func (g *Guard) evict(m map[string]*record, now time.Time) {
	var oldest string
	var oldestFirst time.Time
	for k, r := range m {
		if g.live(m, k, now) == nil {
			continue
		}
		if oldest == "" || r.first.Before(oldestFirst) {
			oldest, oldestFirst = k, r.first
		}
	}
	if len(m) >= g.cfg.MaxEntries {
		delete(m, oldest)
	}
}

// BanText says why an address is refused, and until when, for the text of
// the stream error.
func BanText(addr string, until time.Time) string {
	return "too many failed authentications from " + addr + "; refused until " + until.UTC().Format(time.RFC3339)
}

// AddrKey returns the key under which a remote address is counted: its IP
// address without the port, and for IPv6 the /64 network it is in
// ("2001:db8:1:2::/64"), because one host usually holds a whole /64 and
// could otherwise use a fresh address for every attempt. An IPv4-mapped
// IPv6 address counts as the IPv4 address.
func AddrKey(addr net.Addr) string {
	var ip netip.Addr
	if tcp, ok := addr.(*net.TCPAddr); ok {
		ip, _ = netip.AddrFromSlice(tcp.IP)
	} else if ap, err := netip.ParseAddrPort(addr.String()); err == nil {
		ip = ap.Addr()
	} else {
		return addr.String()
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		// A /64 prefix of a valid IPv6 address cannot fail.
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// Len returns how many addresses and accounts are tracked.
func (g *Guard) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.addrs) + len(g.accounts)
}
