package decide_test

import (
	"context"
	"testing"
	"time"

	"github.com/cpam/attestd/decide"
	"github.com/cpam/attestd/internal/loadgen"
	"github.com/cpam/attestd/internal/testkit/sampledb"
	"github.com/cpam/attestd/mailauth"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/samples"
	"github.com/cpam/attestd/templates/attestation"
	"github.com/cpam/attestd/templates/reply"
)

// benchDecider is a decider on the sample registry (SQLite) and the
// samples' configuration. limit is the attestations per compte and day.
func benchDecider(b *testing.B, limit int) *decide.Decider {
	db := sampledb.SQLite(b)
	cfg := loadgen.SampleConfig(samples.ExpectedCases())
	cfg.Limits.AttestationsPerComptePerDay = limit
	cfg.Limits.GenericRepliesPerAddressPerDay = 1 << 30
	pdf, err := attestation.NewPDFRenderer()
	if err != nil {
		b.Fatal(err)
	}
	replies, err := reply.LoadReplies("")
	if err != nil {
		b.Fatal(err)
	}
	return decide.New(cfg, decide.Options{Counts: db, Registry: db, PDF: pdf, Replies: replies,
		Auth:  &mailauth.Authenticator{TrustedIDs: cfg.Trust.AuthservIDs},
		Today: rules.MustDate(samples.ExpectedCases().Today)})
}

// BenchmarkDecide measures the decision of one message without the mail
// servers: parsing, authentication, reading, identity (registry reads on
// SQLite), rules, the PDF and the composed reply. "mix" decides the sample
// requests in turn (ns/op is per message), the others one sample each.
func BenchmarkDecide(b *testing.B) {
	ctx := context.Background()
	d := benchDecider(b, 1<<30)
	now := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	reqs := samples.Requests()
	run := func(b *testing.B, pick func(i int) samples.Request) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			r := pick(i)
			v, err := d.Decide(ctx, "INBOX", r.Raw, r.Name, now)
			if err != nil {
				b.Fatalf("%s: %v", r.Name, err)
			}
			if v.Release != nil {
				v.Release()
			}
		}
	}
	b.Run("mix", func(b *testing.B) { run(b, func(i int) samples.Request { return reqs[i%len(reqs)] }) })
	for _, name := range []string{"01-eva-simple.eml", "02-benoit-famille-mentions.eml", "10-expediteur-inconnu.eml"} {
		for _, r := range reqs {
			if r.Name == name {
				b.Run(name, func(b *testing.B) { run(b, func(int) samples.Request { return r }) })
			}
		}
	}
}

// BenchmarkDecideOverLimit decides requests for a compte whose daily limit
// is reached (a reservation held, never released): the direct request is
// suppressed, the gateway's gets the limit_reached reply; neither renders a
// PDF, so both cost a fraction of BenchmarkDecide's issued requests.
func BenchmarkDecideOverLimit(b *testing.B) {
	ctx := context.Background()
	d := benchDecider(b, 1)
	now := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	byName := map[string][]byte{}
	for _, r := range samples.Requests() {
		byName[r.Name] = r.Raw
	}
	// Benoit's one attestation of the day, reserved and never released.
	if v, err := d.Decide(ctx, "INBOX", byName["02-benoit-famille-mentions.eml"], "first", now); err != nil || v.Outcome != rules.Issued {
		b.Fatalf("first request: %v %v", v.Outcome, err)
	}
	for _, tc := range []struct {
		name string
		want rules.Outcome
	}{{"02-benoit-famille-mentions.eml", rules.Suppressed}, {"22-passerelle-messagerie.eml", rules.LimitReached}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v, err := d.Decide(ctx, "INBOX", byName[tc.name], tc.name, now)
				if err != nil || v.Outcome != tc.want {
					b.Fatalf("%s: %s %v, want %s", tc.name, v.Outcome, err, tc.want)
				}
			}
		})
	}
}
