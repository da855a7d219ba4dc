package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Ready reports nil when the IMAP mailbox, the SMTP relay and the store are
// reachable (see the package documentation for how each is judged), or an
// error naming every one that is not. A standby replica (other replicas
// hold every mailbox's lease) is not judged on IMAP.
func (m *Metrics) Ready(ctx context.Context) error {
	m.mu.Lock()
	workUp, lastPoll, smtpDown, standby := m.workUp > 0, m.lastPollTime, m.smtpDown, m.standby()
	m.mu.Unlock()
	var errs []error
	switch age := m.opts.Now().Sub(lastPoll); {
	case standby:
		// Another replica watches every mailbox: nothing to judge here.
	case !workUp:
		errs = append(errs, errors.New("imap: the work connection is down"))
	case lastPoll.IsZero():
		errs = append(errs, errors.New("imap: no successful poll yet"))
	case age > m.opts.PollStale:
		errs = append(errs, fmt.Errorf("imap: last successful poll %s ago", age.Round(time.Second)))
	}
	if smtpDown {
		errs = append(errs, errors.New("smtp: the last send reached no relay"))
	}
	if m.opts.OutboxDepth != nil {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if _, err := m.opts.OutboxDepth(ctx); err != nil {
			errs = append(errs, fmt.Errorf("store: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Handler serves /metrics (Prometheus text format), /healthz (200 while
// the process serves HTTP at all) and /readyz (200, or 503 with the
// reasons, one a line).
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := m.Ready(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, err)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}
