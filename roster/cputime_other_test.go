//go:build !unix

package roster_test

import "time"

// start is when the test binary started.
var start = time.Now()

// cpuTime falls back to wall time where the process's CPU time is not
// available.
func cpuTime() time.Duration { return time.Since(start) }
