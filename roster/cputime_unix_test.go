//go:build unix

package roster_test

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process used so far (user and system,
// all threads, the garbage collector's included). Unlike wall time it does
// not count time the machine gave to other processes.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
