package outbox

import "syscall"

// cork sets (or clears, which sends what was held) TCP_CORK on the
// socket fd, and reports whether it could.
func cork(fd uintptr, on bool) bool {
	v := 0
	if on {
		v = 1
	}
	return syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, v) == nil
}
