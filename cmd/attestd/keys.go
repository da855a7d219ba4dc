package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/seal"
)

// The files attestd keys generate writes in --out.
const (
	signingKeyFile = "attestd-signing.pem"
	signingPubFile = "attestd-signing.pub.pem"
)

func cmdKeysGenerate(c *command, args []string) error {
	fs := c.flags()
	out := fs.String("out", "", "directory for "+signingKeyFile+" (private, mode 0600) and "+signingPubFile)
	issuer := fs.String("issuer", "CPAM", "issuer id in the codes: four characters A-Z 0-9")
	keyID := fs.String("key-id", "", "key id in the codes: four characters A-Z 0-9 (default: from the key's hash)")
	var from, until todayFlag
	fs.Var(&from, "valid-from", "first day codes signed by this key are valid (default: today)")
	fs.Var(&until, "valid-until", "last day codes signed by this key verify (default: three years after valid-from)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageErrorf("--out DIR is required")
	}
	if fs.NArg() != 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	if from.d.IsZero() {
		from.d = rules.DateOf(time.Now())
	}
	if until.d.IsZero() {
		until.d = rules.DateOf(from.d.Time().AddDate(3, 0, 0))
	}
	priv, pub, err := seal.GenerateKey(rand.Reader, *issuer, *keyID, from.d, until.d)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	privPath, pubPath := filepath.Join(*out, signingKeyFile), filepath.Join(*out, signingPubFile)
	if err := writeNew(privPath, priv, 0o600); err != nil {
		return err
	}
	if err := writeNew(pubPath, pub, 0o644); err != nil {
		return err
	}
	s, err := seal.ParseSigner(priv, "", "")
	if err != nil {
		return err
	}
	fmt.Printf("written %s (private, keep it secret) and %s (public, hand it to whoever verifies)\n", privPath, pubPath)
	fmt.Printf("configuration:\n  signing: {key_file: %s, key_id: %s, issuer: %s}\n", privPath, s.KeyID(), *issuer)
	return nil
}

// writeNew writes a file that must not exist yet: a key is never
// overwritten.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists: a key is never overwritten; choose another --out", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
