//go:build !unix

package queue

import "os"

// writeRecord writes rec with one write.
func writeRecord(f *os.File, rec []byte) error {
	_, err := f.Write(rec)
	return err
}
