package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
	"github.com/cpam/attestd/templates/attestation"
)

// ChannelAPI is the channel of requests made over the HTTP API (issue 13).
const ChannelAPI Channel = "api"

// apiFolder is the ledger folder of API calls: they have no message to file.
const apiFolder = "api"

// APIRequest is one request of POST /v1/attestations: the web site, the app
// and the kiosks ask for the same attestation as a mail would, by NIR.
type APIRequest struct {
	// NIR identifies the compte (any beneficiary's NIR).
	NIR string
	// Family asks for every covered beneficiary of the compte.
	Family bool
	// Beneficiaries names the persons by first name and birth date. Empty
	// and not Family: the person the NIR belongs to.
	Beneficiaries []rules.Target
	ETM, C2S      bool
}

// APIAnswer is the outcome of an API request, with the attestation when
// issued. It carries no personal data beyond the PDF.
type APIAnswer struct {
	Outcome   rules.Outcome
	Reference string
	Detail    string
	PDF       *attestation.Document // Issued only
}

// Attest decides an API request under the rules, the rate limits and the
// ledger of the mail channel (SPEC sections 4 and 7): the same compte gets
// the same answer, and its attestations count the same. Over the daily
// limit the answer is limit_reached, as for the gateway and the agents. An error is an
// internal failure (the store unreachable).
func (d *Daemon) Attest(ctx context.Context, req APIRequest) (APIAnswer, error) {
	now := d.now()
	today := d.today(now)
	callID := "api:" + randomHex(12)
	a := APIAnswer{Reference: reference(callID, today)}
	dec := store.Decision{Folder: apiFolder, Channel: string(ChannelAPI), Reference: a.Reference}
	var release func()
	var err error
	a, dec, release, err = d.attest(ctx, req, a, dec, now, today)
	if release != nil {
		defer release()
	}
	if err != nil {
		return APIAnswer{}, err
	}
	dec.Outcome, dec.Detail = a.Outcome, a.Detail
	if _, err := d.store.RecordCall(ctx, callID, dec, now); err != nil {
		return APIAnswer{}, err
	}
	d.obs.MessageHandled(string(a.Outcome), time.Since(now))
	return a, nil
}

func (d *Daemon) attest(ctx context.Context, req APIRequest, a APIAnswer, dec store.Decision, now time.Time,
	today rules.Date) (APIAnswer, store.Decision, func(), error) {
	nir, err := rules.CheckNIR(req.NIR)
	if err != nil {
		a.Outcome, a.Detail = rules.NIRInvalid, "the NIR is malformed or its key is wrong"
		return a, dec, nil, nil
	}
	c, err := d.store.CompteByNIR(ctx, nir)
	if err != nil {
		return a, dec, nil, fmt.Errorf("api: look up the NIR: %w", err)
	}
	if c == nil {
		a.Outcome, a.Detail = rules.SenderUnknown, "no compte holds this NIR"
		return a, dec, nil, nil
	}
	dec.CompteID = c.ID
	r := rules.Request{Family: req.Family, Targets: req.Beneficiaries, ETM: req.ETM, C2S: req.C2S, NIRs: []string{nir}}
	if !r.Family && len(r.Targets) == 0 {
		for i := range c.Beneficiaries {
			if b := &c.Beneficiaries[i]; b.NIR == nir {
				r.Targets = []rules.Target{{FirstName: b.Prenom, Birth: b.DateNaissance}}
			}
		}
	}
	rd := rules.Decide(c, r, today)
	a.Outcome = rd.Outcome
	if rd.Outcome != rules.Issued {
		return a, dec, nil, nil
	}
	release, ok, err := d.rate.reserve("compte:"+c.ID, d.cfg.Limits.AttestationsPerComptePerDay,
		func() (int, error) { return d.store.CountIssuedSince(ctx, c.ID, now.Add(-24*time.Hour)) })
	if err != nil {
		return a, dec, nil, fmt.Errorf("rate limit: %w", err)
	}
	if !ok {
		// The back ends answer for the insured, as the gateway and the
		// agents do: limit_reached, not the silence of the direct channel.
		a.Outcome, a.Detail = rules.LimitReached, "rate limit: attestations per compte"
		return a, dec, nil, nil
	}
	a.PDF, err = d.pdf.Render(attestation.AttestationInput{Compte: c, Decision: rd, Reference: a.Reference, IssuedAt: issuedAt(now, today)})
	if err != nil {
		release()
		return a, dec, nil, fmt.Errorf("render the attestation: %w", err)
	}
	d.obs.AttestationRendered()
	return a, dec, release, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
