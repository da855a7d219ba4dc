//go:build unix

package queue

import (
	"os"
	"syscall"
)

// writeRecord writes rec with one write(2) straight on the descriptor:
// no lock of the os.File on the way, so no goroutine can make it wait.
func writeRecord(f *os.File, rec []byte) error {
	n, err := syscall.Write(int(f.Fd()), rec)
	if err == nil && n < len(rec) {
		err = syscall.EIO
	}
	return err
}
