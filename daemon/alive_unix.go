//go:build unix

package daemon

import (
	"errors"
	"syscall"
)

// processAlive reports whether a process with that pid runs on this
// machine (signal 0 checks without sending anything; EPERM: it runs under
// another user).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
