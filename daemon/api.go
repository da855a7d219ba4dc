package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/cpam/attestd/decide"
)

// Attest answers one request of POST /v1/attestations (issue 13) under the
// rules, the rate limits and the ledger of the mail channel: the decider
// decides it (decide.Decider.Attest), the ledger records the call. An
// error is an internal failure (the store unreachable).
func (d *Daemon) Attest(ctx context.Context, req decide.APIRequest) (decide.APIAnswer, error) {
	now := d.now()
	// The call's ledger key, in place of a Message-ID: api:CLIENT:RANDOM,
	// so that the ledger says which back end asked.
	callID := "api:" + randomHex(12)
	if req.Client != "" {
		callID = "api:" + req.Client + ":" + randomHex(12)
	}
	a, dec, release, err := d.decider.Attest(ctx, req, callID, now)
	if err != nil {
		return decide.APIAnswer{}, err
	}
	dec.Outcome, dec.Detail = a.Outcome, a.Detail
	if _, err := d.store.RecordCall(ctx, callID, dec, now); err != nil {
		if release != nil {
			release() // recording consumes the reservation; not recorded, it goes
		}
		return decide.APIAnswer{}, err
	}
	d.obs.MessageHandled(string(a.Outcome), time.Since(now))
	return a, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
