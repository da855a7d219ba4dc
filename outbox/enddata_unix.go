//go:build linux || darwin || freebsd || netbsd || openbsd

package outbox

import (
	"io"
	"syscall"
	"unsafe"
)

// rawWriteThen writes b to the socket with raw write(2) calls, waiting
// for the socket to be writable (under the connection's deadline) when it
// is full, and calls then as soon as the last byte is written, inside the
// same callback. Where the platform can (Linux, TCP_CORK), the bytes leave
// only after then has run; a process killed in between still sends them
// as it closes.
func rawWriteThen(sc syscall.Conn, b []byte, then func()) error {
	rc, err := sc.SyscallConn()
	if err != nil {
		return errNoRawWrite
	}
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		// Corked, the dot stays in the socket until then has run: writing
		// it wakes nobody, so the thread is not preempted by the relay's
		// (or anyone's) wake-up between the two writes.
		corked := cork(fd, true)
		if corked {
			defer cork(fd, false) // sends the dot
		}
		for len(b) > 0 {
			n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
			switch {
			case errno == syscall.EAGAIN:
				return false // wait until writable
			case errno == syscall.EINTR:
				continue
			case errno != 0:
				werr = errno
				return true
			case n == 0:
				werr = io.ErrUnexpectedEOF
				return true
			}
			b = b[n:]
		}
		then()
		return true
	})
	if werr != nil {
		return werr
	}
	return err
}
