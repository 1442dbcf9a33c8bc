package throttle_test

import (
	"fmt"
	"time"

	"github.com/mixpam/mixpam/examples/memserver/internal/throttle"
)

// A server asks the Guard before checking a password, and tells it of
// each failure.
func ExampleGuard() {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	g := throttle.New(throttle.Config{AddrFailures: 3, Ban: time.Minute, Now: func() time.Time { return now }})
	for range 3 {
		if g.Allowed("192.0.2.7", "alice") {
			// ... the password was wrong:
			g.Fail("192.0.2.7", "alice")
		}
	}
	banned, until := g.AddrBanned("192.0.2.7")
	fmt.Println(banned, throttle.BanText("192.0.2.7", until))
	fmt.Println(g.Allowed("198.51.100.1", "alice"))
	// Output:
	// true too many failed authentications from 192.0.2.7; refused until 2026-01-01T12:01:00Z
	// true
}
