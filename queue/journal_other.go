//go:build !unix

package daemon

import "os"

// writeRecord writes rec with one write.
func writeRecord(f *os.File, rec []byte) error {
	_, err := f.Write(rec)
	return err
}
