package main

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/cpam/attestd/store"
	"github.com/cpam/attestd/templates/reply"
)

// reloader re-reads, on SIGHUP, what an operator edits while the daemon
// runs: the registry file (registry.import_on_start) and the reply
// template overrides (templates). The rest of the configuration is read
// at start only: a change there needs a restart.
//
// Each part is replaced whole or not at all. The registry is imported in
// one transaction (readers see the old registry or the new one); reply
// templates are swapped once every one parses (templates.Replies.Reload).
// A part that fails keeps what was in use, and the error is logged.
type reloader struct {
	db        *store.DB
	replies   *reply.Replies
	registry  string // the registry file; "": none configured
	templates string // the override directory; "": embedded templates only
	log       *slog.Logger
}

// watch reloads on every signal until ctx is done.
func (r *reloader) watch(ctx context.Context, hangup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hangup:
			r.reload(ctx)
		}
	}
}

// reload reloads both parts and logs one line saying what became of each.
func (r *reloader) reload(ctx context.Context) {
	var errs []error
	attrs := []any{}
	if r.registry == "" {
		attrs = append(attrs, "registry", "not configured (registry.import_on_start)")
	} else if n, err := importRegistryFile(ctx, r.db, r.registry); err != nil {
		errs = append(errs, err)
		attrs = append(attrs, "registry", "unchanged")
	} else {
		attrs = append(attrs, "registry", r.registry, "comptes", n.comptes, "beneficiaries", n.beneficiaries)
	}
	if r.templates == "" {
		attrs = append(attrs, "templates", "embedded (no templates directory configured)")
	} else if err := r.replies.Reload(r.templates); err != nil {
		errs = append(errs, err)
		attrs = append(attrs, "templates", "unchanged")
	} else {
		attrs = append(attrs, "templates", r.templates)
	}
	if err := errors.Join(errs...); err != nil {
		r.log.Error("SIGHUP: reload failed, what failed stays as it was", append(attrs, "err", err)...)
		return
	}
	r.log.Info("SIGHUP: reloaded", attrs...)
}
