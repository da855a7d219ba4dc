package decide

import (
	"sync"
)

// rateGate makes the rate limits of SPEC section 7 hold when several
// workers decide at once. The counts live in the store (a restart keeps
// them), but between counting a compte's attestations and recording the
// decision another worker could count the same compte and let both through:
// the gate counts and reserves under one lock, and the reservation holds
// until the decision is recorded (or abandoned).
//
// It covers the workers of one daemon; two daemons on one store may still
// let one message each through beyond the limit.
type rateGate struct {
	mu      sync.Mutex
	pending map[string]int // key → decisions counted but not yet recorded
}

func newRateGate() *rateGate { return &rateGate{pending: make(map[string]int)} }

// reserve counts key's decisions with count (the store's count of recorded
// ones) plus those reserved, and when they are under limit reserves one
// more. It returns the function that releases the reservation once the
// decision is recorded, ok false when the limit is reached, or count's
// error.
func (g *rateGate) reserve(key string, limit int, count func() (int, error)) (release func(), ok bool, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n, err := count()
	if err != nil {
		return nil, false, err
	}
	if n+g.pending[key] >= limit {
		return nil, false, nil
	}
	g.pending[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			if g.pending[key]--; g.pending[key] <= 0 {
				delete(g.pending, key)
			}
		})
	}, true, nil
}
