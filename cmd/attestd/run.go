package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
)

func cmdRun(args []string) error {
	fs := newFlags("run", "run --config FILE [--today YYYY-MM-DD]")
	cfgPath := fs.String("config", "", "configuration file (YAML, see the README)")
	var today todayFlag
	fs.Var(&today, "today", "run the rules at this date (acceptance environments only)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *cfgPath == "" {
		return fmt.Errorf("--config FILE is required; see attestd check-config and the README")
	}
	cfg, err := daemon.LoadConfig(*cfgPath)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	tuneGC(log)
	if !today.d.IsZero() {
		log.Warn("--today is set: the rules run at a fixed date, not today's", "today", today.d.String())
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return serve(ctx, cfg, serveOptions{today: today.d, log: log})
}

// serveOptions are what `run` and `demo` set beyond the configuration.
type serveOptions struct {
	today   rules.Date
	log     *slog.Logger
	results chan<- daemon.Result
	now     func() time.Time
	ready   func(db *store.DB)
	// imapPassword replaces the configured password source (the demo's
	// in-process server).
	imapPassword string
}

// serve opens the store, builds the daemon and runs it until ctx is done.
func serve(ctx context.Context, cfg daemon.Config, o serveOptions) error {
	db, err := store.Open(ctx, cfg.Store.Driver, cfg.Store.DSN)
	if err != nil {
		return fmt.Errorf("open the store: %w", err)
	}
	defer db.Close()
	if f := cfg.Registry.ImportOnStart; f != "" {
		if err := importRegistryFile(ctx, db, f); err != nil {
			return err
		}
	}
	if o.ready != nil {
		o.ready(db)
	}
	obs, stopMetrics, err := startMetrics(cfg, db, o.log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	d, err := daemon.New(cfg, daemon.Options{
		Store: db, Logger: o.log, Now: o.now, Today: o.today, Results: o.results, IMAPPassword: o.imapPassword,
		Observer: obs,
	})
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Run(ctx)
}

func cmdCheckConfig(args []string) error {
	fs := newFlags("check-config", "check-config --config FILE")
	cfgPath := fs.String("config", "", "configuration file to check")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *cfgPath == "" {
		return fmt.Errorf("--config FILE is required")
	}
	if _, err := daemon.LoadConfig(*cfgPath); err != nil {
		return err
	}
	fmt.Println("configuration OK:", *cfgPath)
	return nil
}
