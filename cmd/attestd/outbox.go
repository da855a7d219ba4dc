package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/cpam/attestd/queue"
	"github.com/cpam/attestd/store"
)

func cmdOutboxList(c *command, args []string) error {
	fs := c.flags()
	sf := addStoreFlags(fs)
	all := fs.Bool("all", false, "also the replies already sent")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	ctx := context.Background()
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
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

func cmdOutboxRetry(c *command, args []string) error {
	fs := c.flags()
	sf := addStoreFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("name the outbox ID to retry (see attestd outbox list)")
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil {
		return usageErrorf("outbox ID %q is not a number", fs.Arg(0))
	}
	ctx := context.Background()
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	// The retried reply gets a fresh job, inserted with the change: the
	// running daemons' work queue sends it.
	if _, err := queue.NewJobs(ctx, queue.JobsOptions{Store: st}); err != nil {
		return err
	}
	if err := st.RetryOutbox(ctx, id, time.Now()); err != nil {
		return err
	}
	fmt.Printf("outbox %d: queued again; the running daemon sends it within seconds\n", id)
	return nil
}
