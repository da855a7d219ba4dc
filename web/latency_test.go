package web_test

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// latencies collects request durations for percentiles.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func newLatencies(n int) *latencies { return &latencies{d: make([]time.Duration, 0, n)} }

func (l *latencies) start() func() {
	t0 := time.Now()
	return func() {
		d := time.Since(t0)
		l.mu.Lock()
		l.d = append(l.d, d)
		l.mu.Unlock()
	}
}

func (l *latencies) report(b *testing.B) {
	if len(l.d) == 0 {
		return
	}
	slices.Sort(l.d)
	p := func(q float64) float64 { return float64(l.d[int(q*float64(len(l.d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p(0.5), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
	b.ReportMetric(float64(len(l.d))/b.Elapsed().Seconds(), "req/s")
}
