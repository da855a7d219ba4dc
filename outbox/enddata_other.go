//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package outbox

import "syscall"

// rawWriteThen is not available here: endData writes the ordinary way.
func rawWriteThen(syscall.Conn, []byte, func()) error { return errNoRawWrite }
