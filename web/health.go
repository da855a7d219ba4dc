package web

import (
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/cpam/attestd/metrics"
)

// health is what the dashboard shows of the daemon's metrics: the same
// numbers /metrics gives, since the daemon started.
type health struct {
	IMAPWork, IMAPIdle, SMTP bool
	LastPoll                 time.Time
	Handled, Sent            int
	Retries, Refused         int
}

// readHealth gathers the metrics; nil without them.
func (s *Server) readHealth() *health {
	if s.o.Metrics == nil {
		return nil
	}
	list, err := s.o.Metrics.Gather()
	if err != nil {
		return nil
	}
	fams := make(map[string]*dto.MetricFamily, len(list))
	for _, f := range list {
		fams[f.GetName()] = f
	}
	h := &health{}
	if f := fams["attestd_imap_connected"]; f != nil {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				up := m.GetGauge().GetValue() == 1
				switch l.GetValue() {
				case "work":
					h.IMAPWork = up
				case "idle":
					h.IMAPIdle = up
				}
			}
		}
	}
	smtp, _ := metrics.Value(fams, "attestd_smtp_reachable")
	h.SMTP = smtp == 1
	if t, ok := metrics.Value(fams, "attestd_imap_last_poll_timestamp_seconds"); ok && t > 0 {
		h.LastPoll = time.Unix(0, int64(t*1e9))
	}
	for _, n := range metrics.Outcomes(fams) {
		h.Handled += n
	}
	count := func(name string) int { v, _ := metrics.Value(fams, name); return int(v) }
	h.Sent, h.Retries, h.Refused = count("attestd_replies_sent_total"), count("attestd_reply_retries_total"),
		count("attestd_reply_permanent_failures_total")
	return h
}
