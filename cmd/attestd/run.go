package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
	"github.com/cpam/attestd/templates/reply"
)

func cmdRun(c *command, args []string) error {
	fs := c.flags()
	cfgPath := fs.String("config", "", configHelp("run uses all of it"))
	var today todayFlag
	fs.Var(&today, "today", "run the rules at this date (acceptance environments only)")
	level := fs.String("log-level", "", "debug, info, warn or error: replaces the configuration's log.level")
	var prof profileFlags
	prof.register(fs.FlagSet)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *cfgPath == "" {
		return usageErrorf("--config FILE is required; see attestd check-config and docs/commands.md")
	}
	if fs.NArg() != 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	if *level != "" {
		if _, err := (config.LogConfig{Level: *level}).SlogLevel(); err != nil {
			return usageErrorf("--log-level %w", err)
		}
	}
	// Until Notify, SIGHUP would end the process: take it before anything.
	hangup := make(chan os.Signal, 1)
	signal.Notify(hangup, syscall.SIGHUP)
	defer signal.Stop(hangup)
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	log, err := newLogger(os.Stderr, cfg.Log, *level)
	if err != nil {
		return err
	}
	b := readBuildInfo()
	log.Info("attestd starting", "version", b.Version, "revision", b.Revision, "go", b.GoVersion, "config", *cfgPath)
	tuneGC(log)
	if !today.d.IsZero() {
		log.Warn("--today is set: the rules run at a fixed date, not today's", "today", today.d.String())
	}
	if cfg.Store.Driver == "postgres" && cfg.Outbox.JournalInDatabase() {
		log.Info("outbox.journal: database only; with several replicas, one killed between a reply's final dot and its note may have it sent again by another: give each replica a journal file of its own (docs/operations.md, Several replicas)")
	}
	stopProfiles, err := prof.start()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	err = serve(ctx, cfg, serveOptions{today: today.d, log: log, hangup: hangup})
	return errors.Join(err, stopProfiles())
}

// newLogger makes the JSON logger of a command at the configured level, or
// at flagLevel when the flag is set.
func newLogger(w io.Writer, lc config.LogConfig, flagLevel string) (*slog.Logger, error) {
	lv, err := lc.SlogLevel()
	if err != nil {
		return nil, configError(fmt.Errorf("config: log.level: %w", err))
	}
	if flagLevel != "" { // checked by the caller
		lv, _ = config.LogConfig{Level: flagLevel}.SlogLevel()
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv})), nil
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
	// hangup, when not nil, delivers SIGHUP: reload (see reloader).
	hangup <-chan os.Signal
	// webReady is told the console's address once it listens.
	webReady func(addr string)
}

// serve opens the store, builds the daemon and runs it until ctx is done.
func serve(ctx context.Context, cfg config.Config, o serveOptions) error {
	replies, err := reply.LoadReplies(cfg.Templates)
	if err != nil {
		return configError(fmt.Errorf("config: templates: %w", err))
	}
	db, err := store.Open(ctx, cfg.Store.Driver, cfg.Store.DSN)
	if err != nil {
		return fmt.Errorf("open the store: %w", err)
	}
	defer db.Close()
	if f := cfg.Registry.ImportOnStart; f != "" {
		n, err := importRegistryFile(ctx, db, f)
		if err != nil {
			return err
		}
		o.log.Info("registry imported", "file", f, "organismes", n.organismes, "comptes", n.comptes, "beneficiaries", n.beneficiaries)
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
		Observer: obs, Replies: replies,
	})
	if err != nil {
		return err
	}
	defer d.Close()
	if o.hangup != nil {
		r := &reloader{db: db, replies: replies, registry: cfg.Registry.ImportOnStart, templates: cfg.Templates, log: o.log}
		go r.watch(ctx, o.hangup)
	}
	stopWeb, err := startWeb(cfg, db, d, obs, o)
	if err != nil {
		return err
	}
	defer stopWeb()
	return d.Run(ctx)
}
