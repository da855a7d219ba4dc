package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/cpam/attestd/rules"
)

// errHelp is returned when --help was asked: exit 0.
var errHelp = errors.New("help shown")

// newFlags makes a flag set that prints its usage with the command's line.
func newFlags(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: attestd %s\n\n", synopsis)
		fs.SetOutput(os.Stderr)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parse parses args, shows usage on --help and names a bad flag.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp // fs.Parse has printed the usage
		}
		return fmt.Errorf("%v (see --help)", err)
	}
	return nil
}

// todayFlag reads --today YYYY-MM-DD.
type todayFlag struct{ d rules.Date }

func (t *todayFlag) String() string {
	if t.d.IsZero() {
		return ""
	}
	return t.d.String()
}

func (t *todayFlag) Set(s string) error {
	d, err := rules.ParseDate(s)
	if err != nil {
		return err
	}
	t.d = d
	return nil
}
