//go:build !unix

package loadgen

import (
	"os"
	"time"
)

// selfUsage is unknown here: zeros.
func selfUsage() (cpu time.Duration, peakRSS int64) { return 0, 0 }

// childUsage is the CPU time of an exited child; its memory is unknown.
func childUsage(ps *os.ProcessState) (cpu time.Duration, peakRSS int64) {
	return ps.UserTime() + ps.SystemTime(), 0
}
