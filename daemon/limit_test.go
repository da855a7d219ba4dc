package daemon_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/internal/testkit/sampledb"
	"github.com/cpam/attestd/metrics"
	"github.com/cpam/attestd/rules"
)

// With a limit of one attestation per compte and day, the gateway's and an
// agent's second request for a compte get the limit_reached reply, the
// insured's own second request gets silence, and no request over the
// limit has a PDF rendered: the metric counts one PDF per compte.
func TestLimitReachedRepliesToGatewayAndAgents(t *testing.T) {
	env := newLocalEnv(t)
	db := sampledb.SQLite(t)
	m := metrics.New(metrics.Options{OutboxDepth: db.OutboxDepth})
	cfg := testConfig(t)
	cfg.Limits.AttestationsPerComptePerDay = 1
	d := start(t, env, cfg, daemon.Options{Store: db, Observer: m})

	steps := []struct {
		name, raw    []byte
		outcome      rules.Outcome
		replyTo      string // "" for no reply
		attachedPDFs int
	}{
		// Benoit's compte, through the gateway: issued, then over the limit.
		{[]byte("gateway"), sample(t, "22-passerelle-messagerie.eml", "limit-1@messagerie.ameli.example").raw, rules.Issued, "messagerie@messagerie.ameli.example", 1},
		{[]byte("gateway again"), sample(t, "22-passerelle-messagerie.eml", "limit-2@messagerie.ameli.example").raw, rules.LimitReached, "messagerie@messagerie.ameli.example", 0},
		// Benoit himself, directly: over the limit, silence as before.
		{[]byte("direct"), sample(t, "02-benoit-famille-mentions.eml", "limit-3@example.net").raw, rules.Suppressed, "", 0},
		// Marie-Ange's compte, through an agent: issued, then over the limit.
		{[]byte("agent"), sample(t, "20-agent-transfert.eml", "limit-4@agents.cpam.example").raw, rules.Issued, "agent.martin@agents.cpam.example", 1},
		{[]byte("agent again"), sample(t, "20-agent-transfert.eml", "limit-5@agents.cpam.example").raw, rules.LimitReached, "agent.martin@agents.cpam.example", 0},
	}
	for _, s := range steps {
		before := len(env.sent(t))
		env.deliver(t, s.raw)
		res := d.collect(t, 1, 30*time.Second)[0]
		if res.Outcome != s.outcome || res.ReplyTo != s.replyTo || res.Folder != "Processed" {
			t.Fatalf("%s: outcome %s, reply to %q, folder %s; want %s, %q, Processed", s.name, res.Outcome, res.ReplyTo, res.Folder, s.outcome, s.replyTo)
		}
		sent := env.sent(t)[before:]
		if s.replyTo == "" {
			if len(sent) != 0 {
				t.Errorf("%s: %d replies sent, want none", s.name, len(sent))
			}
			continue
		}
		if len(sent) != 1 {
			t.Fatalf("%s: %d replies sent, want 1", s.name, len(sent))
		}
		rp := readReply(t, sent[0])
		if got := rp.header.Get("X-Attestation-Outcome"); got != string(s.outcome) {
			t.Errorf("%s: X-Attestation-Outcome %q", s.name, got)
		}
		if (rp.pdf != nil) != (s.attachedPDFs == 1) {
			t.Errorf("%s: attachment %q, want %d PDF", s.name, rp.pdfName, s.attachedPDFs)
		}
		if s.outcome == rules.LimitReached {
			text := strings.Join(strings.Fields(rp.text), " ")
			for _, want := range []string{"est atteint", "Une nouvelle demande pourra être faite à partir du", res.Reference} {
				if !strings.Contains(text, want) {
					t.Errorf("%s: the reply does not say %q:\n%s", s.name, want, rp.text)
				}
			}
			for _, personal := range []string{"PEIGNE", "BENOIT", "LÉA", "MARIE-ANGE", "CASANOVA", "185066912308738"} {
				if strings.Contains(rp.text, personal) || strings.Contains(rp.html, personal) {
					t.Errorf("%s: the generic reply holds %q", s.name, personal)
				}
			}
		}
	}
	fams, err := metrics.Scrape(t.Context(), "http://"+listenMetrics(t, m)+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := metrics.Value(fams, "attestd_attestations_rendered_total"); got != 2 {
		t.Errorf("attestd_attestations_rendered_total = %v, want 2: a request over the limit rendered a PDF", got)
	}
	if got := metrics.Outcomes(fams)["limit_reached"]; got != 2 {
		t.Errorf("attestd_messages_total{outcome=limit_reached} = %v, want 2", got)
	}
}

// listenMetrics serves m's handler until the test ends and returns its
// address.
func listenMetrics(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	srv, err := metrics.Listen("127.0.0.1:0", m.Handler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Addr()
}
