package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cpam/attestd/internal/pdftext"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/seal"
)

func cmdVerify(c *command, args []string) error {
	fs := c.flags()
	var keyFiles multiFlag
	fs.Var(&keyFiles, "keys", "trusted public keys (PEM, as attestd keys generate writes them; repeatable, a file may hold several)")
	code := fs.String("code", "", "the code as a DataMatrix reader gives it, instead of a PDF")
	var today todayFlag
	fs.Var(&today, "today", "check the keys' validity at this date (default: today)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(keyFiles) == 0 {
		return usageErrorf("--keys FILE is required: the public keys you trust")
	}
	if (*code == "") == (fs.NArg() != 1) {
		return usageErrorf("give one FILE.pdf or --code STRING")
	}
	var ring seal.KeyRing
	for _, f := range keyFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		keys, err := seal.ParsePublicKeys(data)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		ring = append(ring, keys...)
	}
	if *code == "" {
		pdf, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return err
		}
		if *code, err = pdftext.ReadCode(pdf); err != nil {
			return &exitError{code: exitNoCode, err: fmt.Errorf("%s: %w (attestd signs attestations only when signing.key_file is set)", fs.Arg(0), err)}
		}
	}
	day := today.d
	if day.IsZero() {
		day = rules.DateOf(time.Now())
	}
	v, err := ring.Verify(*code, day)
	if err != nil {
		for _, verdict := range []error{seal.ErrInvalid, seal.ErrUnknownKey, seal.ErrExpiredKey} {
			if errors.Is(err, verdict) {
				fmt.Println(verdict)
			}
		}
		return &exitError{code: exitFailed, err: err}
	}
	fmt.Print(v.Content.French())
	fmt.Printf("signature valide (clé %s)\n", v.Key.KeyID)
	return nil
}
