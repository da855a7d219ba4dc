//go:build unix

package loadgen

import (
	"os"
	"runtime"
	"syscall"
	"time"
)

// selfUsage is the CPU time this process has used and its peak resident
// memory in bytes.
func selfUsage() (cpu time.Duration, peakRSS int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return rusageCPU(&ru), maxRSS(&ru)
}

// childUsage is the CPU time and peak resident memory of an exited child.
func childUsage(ps *os.ProcessState) (cpu time.Duration, peakRSS int64) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return ps.UserTime() + ps.SystemTime(), 0
	}
	return rusageCPU(ru), maxRSS(ru)
}

func rusageCPU(ru *syscall.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// maxRSS is ru_maxrss in bytes: kibibytes on Linux, bytes on macOS.
func maxRSS(ru *syscall.Rusage) int64 {
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss)
	}
	return int64(ru.Maxrss) * 1024
}
