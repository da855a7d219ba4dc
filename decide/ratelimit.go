package decide

import (
	"context"
	"sync"
	"time"

	"github.com/cpam/attestd/store"
)

// rateWindow is the window of every rate limit of SPEC section 7.
const rateWindow = 24 * time.Hour

// reserve asks the store for a place under a rate limit for the request
// whose ledger key is holder: r names the limit (compte or address) and its
// size. The store counts and reserves in one transaction serialized per
// limit key, so the limits hold across the workers of one daemon and across
// the replicas of a cluster alike (store.DB.Reserve); recording the decision
// consumes the reservation. ok is false when the limit is reached. release
// gives the place back when the decision will not be recorded now (it
// failed after reserving); a release that fails leaves the place to expire
// (store.ReservationTTL).
func (d *Decider) reserve(ctx context.Context, r store.Reservation, now time.Time) (release func(), ok bool, err error) {
	r.Since, r.Now = now.Add(-rateWindow), now
	if ok, err = d.counts.Reserve(ctx, r); err != nil || !ok {
		return nil, false, err
	}
	ctx = context.WithoutCancel(ctx)
	var once sync.Once
	return func() {
		once.Do(func() {
			if err := d.counts.ReleaseReservation(ctx, r.Holder); err != nil {
				d.log.Warn("rate limit: reservation not released, it will expire", "err", err)
			}
		})
	}, true, nil
}
