package queue

import "time"

// RetryPolicy says when the outbox tries a temporarily failed reply again
// and when it gives up (SPEC section 8: retried with back-off, never
// forever); the daemon's IMAP reconnections use its Backoff too. The zero
// value means [DefaultRetryPolicy]. The configuration's outbox section
// (retry_initial, retry_max, max_attempts) sets it.
//
// There is no jitter: attestd sends over one serialised connection to one
// relay, so there is no herd of clients to spread out, and a deterministic
// schedule is what operators and tests can reason about.
type RetryPolicy struct {
	// Initial is the delay after the first failed attempt.
	Initial time.Duration
	// Max caps the delay; it doubles from Initial until it reaches Max.
	Max time.Duration
	// MaxAttempts is the number of attempts (the first one included) after
	// which a message that still fails temporarily is given up.
	MaxAttempts int
}

// DefaultRetryPolicy waits 5s, 10s, 20s... then every 30 minutes, for 20
// attempts in all: about 6 hours of relay outage before a reply is given up.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{Initial: 5 * time.Second, Max: 30 * time.Minute, MaxAttempts: 20}
}

// withDefaults fills zero fields from DefaultRetryPolicy.
func (p RetryPolicy) withDefaults() RetryPolicy {
	def := DefaultRetryPolicy()
	if p.Initial <= 0 {
		p.Initial = def.Initial
	}
	if p.Max <= 0 {
		p.Max = def.Max
	}
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = def.MaxAttempts
	}
	return p
}

// Backoff is the delay before the next attempt once attempt attempts have
// failed (attempt 1: Initial; 2: 2×Initial; ...; never more than Max).
// Attempt values below 1 count as 1. It is a pure function.
func (p RetryPolicy) Backoff(attempt int) time.Duration {
	p = p.withDefaults()
	d := p.Initial
	for i := 1; i < attempt && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// Next says, after attempt attempts have failed temporarily at now, when to
// try again, or false when the message must be given up.
func (p RetryPolicy) Next(attempt int, now time.Time) (time.Time, bool) {
	p = p.withDefaults()
	if attempt >= p.MaxAttempts {
		return time.Time{}, false
	}
	return now.Add(p.Backoff(attempt)), true
}

// Backoff is DefaultRetryPolicy().Backoff: 5s, 10s, 20s, ... capped at 30 min.
func Backoff(attempt int) time.Duration { return DefaultRetryPolicy().Backoff(attempt) }
