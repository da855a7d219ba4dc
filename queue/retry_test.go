package queue_test

import (
	"testing"
	"time"

	"github.com/cpam/attestd/queue"
)

func TestBackoffDoublesUpToTheCap(t *testing.T) {
	want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second}
	for i, w := range want {
		if got := queue.Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := queue.Backoff(0); got != 5*time.Second {
		t.Errorf("Backoff(0) = %v", got)
	}
	for _, n := range []int{10, 11, 50, 1 << 20} {
		if got := queue.Backoff(n); got != 30*time.Minute {
			t.Errorf("Backoff(%d) = %v, want the 30 min cap", n, got)
		}
	}
}

func TestRetryPolicyGivesUp(t *testing.T) {
	p := queue.RetryPolicy{Initial: time.Second, Max: 4 * time.Second, MaxAttempts: 3}
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	at, ok := p.Next(1, now)
	if !ok || !at.Equal(now.Add(time.Second)) {
		t.Errorf("Next(1) = %v, %v", at, ok)
	}
	at, ok = p.Next(2, now)
	if !ok || !at.Equal(now.Add(2*time.Second)) {
		t.Errorf("Next(2) = %v, %v", at, ok)
	}
	if _, ok := p.Next(3, now); ok {
		t.Error("Next(3) with MaxAttempts 3 should give up")
	}
	var total time.Duration
	def := queue.DefaultRetryPolicy()
	for a := 1; a < def.MaxAttempts; a++ {
		total += def.Backoff(a)
	}
	if total < 5*time.Hour || total > 7*time.Hour {
		t.Errorf("default policy spans %v; documented as about 6 hours", total)
	}
}
