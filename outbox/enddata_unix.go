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
// same callback.
func rawWriteThen(sc syscall.Conn, b []byte, then func()) error {
	rc, err := sc.SyscallConn()
	if err != nil {
		return errNoRawWrite
	}
	var werr error
	err = rc.Write(func(fd uintptr) bool {
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
