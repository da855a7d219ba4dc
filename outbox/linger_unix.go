//go:build linux || darwin || freebsd || netbsd || openbsd

package outbox

import "syscall"

// lingerZero sets (on) or clears SO_LINGER with a zero timeout on fd: set,
// the socket's close (the process's exit included) resets the connection
// and drops what it still holds; cleared, close sends it.
func lingerZero(fd uintptr, on bool) bool {
	l := syscall.Linger{}
	if on {
		l.Onoff = 1
	}
	return syscall.SetsockoptLinger(int(fd), syscall.SOL_SOCKET, syscall.SO_LINGER, &l) == nil
}
