package main

import (
	"log/slog"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/metrics"
	"github.com/cpam/attestd/store"
)

// startMetrics serves the metrics and health checks on cfg.Metrics.Address
// and returns the daemon's observer and a function that stops serving.
// Without an address it returns a nil observer, nothing measured, unless
// the console (http.address) shows the metrics on its dashboard.
func startMetrics(cfg config.Config, db *store.DB, log *slog.Logger) (daemon.Observer, func(), error) {
	if cfg.Metrics.Address == "" && cfg.HTTP.Address == "" {
		return nil, func() {}, nil
	}
	// A sweep polls at least every poll interval; one IMAP command may take
	// up to the timeout before it fails.
	stale := 2*cfg.IMAP.PollInterval.D() + cfg.IMAP.Timeout.D()
	b := readBuildInfo()
	m := metrics.New(metrics.Options{OutboxDepth: db.OutboxDepth, PollStale: stale,
		Build: metrics.Build{Version: b.Version, Revision: b.Revision, GoVersion: b.GoVersion}})
	if cfg.Metrics.Address == "" {
		return m, func() {}, nil // measured for the console's dashboard only
	}
	srv, err := metrics.Listen(cfg.Metrics.Address, m.Handler())
	if err != nil {
		return nil, nil, err
	}
	log.Info("metrics and health checks listening", "address", srv.Addr(), "paths", "/metrics /healthz /readyz")
	return m, func() { srv.Close() }, nil
}
