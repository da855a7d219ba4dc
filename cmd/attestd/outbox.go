package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/store"
)

func cmdOutbox(args []string) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "retry") {
		fmt.Fprintln(os.Stderr, "usage: attestd outbox list [--config FILE] [--all]\n       attestd outbox retry [--config FILE] ID")
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return errHelp
		}
		return fmt.Errorf("say list or retry")
	}
	verb := args[0]
	fs := newFlags("outbox "+verb, "outbox "+verb+" [--config FILE | --db FILE] ...")
	cfgPath := fs.String("config", "", "configuration file (for the store); or --db")
	dbPath := fs.String("db", "attestd.db", "SQLite store when no --config is given")
	all := fs.Bool("all", false, "list: also the replies already sent")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	driver, dsn := "sqlite", *dbPath
	if *cfgPath != "" {
		cfg, err := daemon.LoadConfig(*cfgPath)
		if err != nil {
			return err
		}
		driver, dsn = cfg.Store.Driver, cfg.Store.DSN
	}
	ctx := context.Background()
	st, err := store.Open(ctx, driver, dsn)
	if err != nil {
		return fmt.Errorf("open the store: %w", err)
	}
	defer st.Close()
	if verb == "retry" {
		if fs.NArg() != 1 {
			return fmt.Errorf("name the outbox ID to retry (see attestd outbox list)")
		}
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil {
			return fmt.Errorf("outbox ID %q is not a number", fs.Arg(0))
		}
		if err := st.RetryOutbox(ctx, id, time.Now()); err != nil {
			return err
		}
		fmt.Printf("outbox %d: queued again; the running daemon sends it within seconds\n", id)
		return nil
	}
	states := []string{store.OutboxPending, store.OutboxPermanent}
	if *all {
		states = append(states, store.OutboxSent)
	}
	items, err := st.ListOutbox(ctx, states...)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tSTATE\tOUTCOME\tATTEMPTS\tNEXT ATTEMPT\tCREATED\tLAST ERROR")
	for _, it := range items {
		next := ""
		if it.State == store.OutboxPending {
			next = it.NextAttempt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\t%s\t%s\n", it.ID, it.State, it.Outcome, it.Attempts, next,
			it.Created.UTC().Format(time.RFC3339), it.LastError)
	}
	w.Flush()
	fmt.Printf("%d repl%s\n", len(items), map[bool]string{true: "y", false: "ies"}[len(items) == 1])
	return nil
}
