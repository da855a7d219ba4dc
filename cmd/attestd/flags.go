package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
)

// errHelp is returned when --help was asked: the usage is on stdout, exit 0.
var errHelp = errors.New("help shown")

// flags makes the command's flag set. Its usage, printed on --help (and
// only then: a bad flag is named in one line), is made from the command
// table.
func (c *command) flags() *flagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, help: func() {
		fmt.Fprintf(os.Stdout, "usage: %s\n\n%s\n", c.line(), c.summary)
		if hasFlags(fs) {
			fmt.Fprintln(os.Stdout, "\nflags:")
			fs.SetOutput(os.Stdout)
			fs.PrintDefaults()
			fs.SetOutput(io.Discard)
		}
	}}
}

// flagSet is a command's flags and its --help.
type flagSet struct {
	*flag.FlagSet
	help func()
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// parse parses args: --help shows the usage (errHelp), a bad flag is a
// usage error that names it.
func parse(fs *flagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.help()
			return errHelp
		}
		return &exitError{code: exitUsage, err: err}
	}
	return nil
}

// configHelp is the one meaning of --config in every command: the file
// attestd run reads. Each command says which of its sections it uses.
func configHelp(uses string) string {
	return "the configuration file of attestd run (YAML); " + uses
}

// loadConfig reads and checks a configuration file; whatever is wrong
// with it is a configuration error (exit status 78).
func loadConfig(path string) (config.Config, error) {
	cfg, err := config.Load(path)
	return cfg, configError(err)
}

// storeFlags name the store of a command that reads or writes it: the one
// of the configuration file, or, without one, --db and --driver.
type storeFlags struct {
	fs             *flag.FlagSet
	config         string
	db, driverName string
}

func addStoreFlags(fs *flagSet) *storeFlags {
	s := &storeFlags{fs: fs.FlagSet}
	fs.StringVar(&s.config, "config", "", configHelp("its store section names the store"))
	fs.StringVar(&s.db, "db", "attestd.db", "without --config: the store, a SQLite file or a PostgreSQL URL (with --driver postgres)")
	fs.StringVar(&s.driverName, "driver", "sqlite", "without --config: the store driver, sqlite or postgres")
	return s
}

// open opens the store the flags name. Call it after parse.
func (s *storeFlags) open(ctx context.Context) (*store.DB, error) {
	driver, dsn := s.driverName, s.db
	if s.config != "" {
		set := false
		s.fs.Visit(func(f *flag.Flag) { set = set || f.Name == "db" || f.Name == "driver" })
		if set {
			return nil, usageErrorf("--config names the store already: leave out --db and --driver")
		}
		cfg, err := loadConfig(s.config)
		if err != nil {
			return nil, err
		}
		driver, dsn = cfg.Store.Driver, cfg.Store.DSN
	}
	db, err := store.Open(ctx, driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open the store: %w", err)
	}
	return db, nil
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
