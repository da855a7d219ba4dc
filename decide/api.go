package decide

import (
	"context"
	"fmt"
	"time"

	"github.com/cpam/attestd/identity"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
	"github.com/cpam/attestd/templates/attestation"
)

// APIFolder is the ledger folder of API calls: they have no message to file.
const APIFolder = "api"

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
	// Client names the API client that asks (api.clients[].name): the
	// ledger keeps it in the call's ID.
	Client string
}

// APIAnswer is the outcome of an API request, with the attestation when
// issued. It carries no personal data beyond the PDF.
type APIAnswer struct {
	Outcome   rules.Outcome
	Reference string
	Detail    string
	PDF       *attestation.Document // Issued only
}

// Attest decides an API request under the rules and the rate limits of the
// mail channel (SPEC sections 4 and 7): the same compte gets the same
// answer, and its attestations count the same. Over the daily limit the
// answer is limit_reached, as for the gateway and the agents. callID is
// the call's ledger key. It returns the answer, the decision to record
// (Outcome and Detail not filled in) and the release of the rate-limit
// reservation an issued attestation holds (nil otherwise), to call if the
// decision cannot be recorded (RecordCall consumes it). An error is an
// internal failure (the store unreachable).
func (d *Decider) Attest(ctx context.Context, req APIRequest, callID string, now time.Time) (APIAnswer, store.Decision, func(), error) {
	a := APIAnswer{Reference: d.reference(callID, now)}
	dec := store.Decision{Folder: APIFolder, Channel: string(identity.ChannelAPI), Reference: a.Reference}
	nir, err := rules.CheckNIR(req.NIR)
	if err != nil {
		a.Outcome, a.Detail = rules.NIRInvalid, "the NIR is malformed or its key is wrong"
		return a, dec, nil, nil
	}
	c, err := d.ident.Registry.CompteByNIR(ctx, nir)
	if err != nil {
		return a, dec, nil, fmt.Errorf("api: look up the NIR: %w", err)
	}
	if c == nil {
		a.Outcome, a.Detail = rules.SenderUnknown, "no compte holds this NIR"
		return a, dec, nil, nil
	}
	dec.CompteID = c.ID
	today := d.today(now)
	rd := rules.Decide(c, apiRequest(req, c, nir), today)
	a.Outcome = rd.Outcome
	if rd.Outcome != rules.Issued {
		return a, dec, nil, nil
	}
	release, ok, err := d.reserve(ctx, store.Reservation{Holder: callID, CompteID: c.ID,
		Limit: d.cfg.Limits.AttestationsPerComptePerDay}, now)
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

// apiRequest is the rules' request of an API request: without persons
// named and not Family, the person the NIR belongs to.
func apiRequest(req APIRequest, c *rules.Compte, nir string) rules.Request {
	r := rules.Request{Family: req.Family, Targets: req.Beneficiaries, ETM: req.ETM, C2S: req.C2S, NIRs: []string{nir}}
	if !r.Family && len(r.Targets) == 0 {
		for i := range c.Beneficiaries {
			if b := &c.Beneficiaries[i]; b.NIR == nir {
				r.Targets = []rules.Target{{FirstName: b.Prenom, Birth: b.DateNaissance}}
			}
		}
	}
	return r
}
