package identity_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cpam/attestd/identity"
	"github.com/cpam/attestd/internal/testkit"
	"github.com/cpam/attestd/request"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/samples"
)

// memRegistry is the sample registry in memory, for unit tests of identity.
type memRegistry struct {
	comptes []*rules.Compte
	fail    error // when set, every look-up fails with it
}

func sampleRegistry(t testing.TB) *memRegistry {
	t.Helper()
	reg, err := samples.ParsedRegistry()
	if err != nil {
		t.Fatal(err)
	}
	m := &memRegistry{}
	for i := range reg.Comptes {
		m.comptes = append(m.comptes, &reg.Comptes[i])
	}
	return m
}

func (m *memRegistry) ComptesByEmail(_ context.Context, email string) ([]*rules.Compte, error) {
	if m.fail != nil {
		return nil, m.fail
	}
	var out []*rules.Compte
	for _, c := range m.comptes {
		if strings.EqualFold(c.Email, email) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (m *memRegistry) CompteByNIR(_ context.Context, nir string) (*rules.Compte, error) {
	if m.fail != nil {
		return nil, m.fail
	}
	for _, c := range m.comptes {
		for _, b := range c.Beneficiaries {
			if b.NIR == nir {
				return c, nil
			}
		}
	}
	return nil, nil
}

func newIdentifier(reg identity.Registry) *identity.Identifier {
	return &identity.Identifier{
		Registry: reg, AgentDomains: []string{"agents.cpam.example"}, AgentAddresses: []string{"referent@cpam.example"},
		GatewayDomain: "messagerie.ameli.example", GatewayHeader: "X-Ameli-NIR",
	}
}

func TestChannelOfRefusesLookAlikes(t *testing.T) {
	id := newIdentifier(nil)
	for from, want := range map[string]identity.Channel{
		"agent.martin@agents.cpam.example":             identity.ChannelAgent,
		"Agent.Martin@AGENTS.CPAM.example":             identity.ChannelAgent,
		"referent@cpam.example":                        identity.ChannelAgent,
		"messagerie@messagerie.ameli.example":          identity.ChannelGateway,
		"agent.martin@agents.cpam.example.evil.test":   identity.ChannelDirect,
		"agent.martin@agents-cpam.example":             identity.ChannelDirect,
		"agent.martin@xagents.cpam.example":            identity.ChannelDirect,
		"agent.martin@sub.agents.cpam.example":         identity.ChannelDirect,
		"agents.cpam.example@evil.test":                identity.ChannelDirect,
		"other@cpam.example":                           identity.ChannelDirect,
		"messagerie@messagerie.ameli.example.evil.net": identity.ChannelDirect,
		"messagerie@evil-messagerie.ameli.example":     identity.ChannelDirect,
	} {
		if got := id.ChannelOf(from); got != want {
			t.Errorf("ChannelOf(%s) = %s, want %s", from, got, want)
		}
	}
}

func TestIdentifyDirect(t *testing.T) {
	ctx := context.Background()
	id := newIdentifier(sampleRegistry(t))
	tests := []struct {
		name    string
		claims  identity.Assertions
		outcome rules.Outcome
		compte  string
		replyTo string
	}{
		{"on file", identity.Assertions{From: "eva.dupont@example.org", Authenticated: true}, "", "C-EVA", "eva.dupont@example.org"},
		{"not authenticated", identity.Assertions{From: "eva.dupont@example.org"}, rules.SenderUnverified, "", ""},
		{"unknown", identity.Assertions{From: "jean.inconnu@example.net", Authenticated: true}, rules.SenderUnknown, "", "jean.inconnu@example.net"},
		{"shared, undescribed", identity.Assertions{From: "famille.rousseau@example.com", Authenticated: true},
			rules.SenderAmbiguous, "", "famille.rousseau@example.com"},
		{"shared, by birth date", identity.Assertions{From: "famille.rousseau@example.com", Authenticated: true,
			AuthorBirth: rules.MustDate("1981-04-30")}, "", "C-THOMAS", "famille.rousseau@example.com"},
		{"shared, by first name", identity.Assertions{From: "famille.rousseau@example.com", Authenticated: true,
			AuthorNames: []string{"Julie"}}, "", "C-JULIE", "famille.rousseau@example.com"},
		{"shared, by NIR", identity.Assertions{From: "famille.rousseau@example.com", Authenticated: true,
			NIRs: []request.FoundNIR{{Normalized: testkit.NIRThomas, Valid: true}}}, "", "C-THOMAS", "famille.rousseau@example.com"},
		{"shared, a birth date of neither", identity.Assertions{From: "famille.rousseau@example.com", Authenticated: true,
			AuthorBirth: rules.MustDate("1990-01-01"), AuthorNames: []string{"Julie"}}, rules.SenderAmbiguous, "", "famille.rousseau@example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			who, err := id.Identify(ctx, tc.claims)
			if err != nil {
				t.Fatal(err)
			}
			checkIdentity(t, who, tc.outcome, tc.compte, tc.replyTo)
		})
	}
}

func checkIdentity(t *testing.T, who identity.Identity, outcome rules.Outcome, compte, replyTo string) {
	t.Helper()
	if who.Outcome != outcome {
		t.Errorf("outcome %q, want %q", who.Outcome, outcome)
	}
	got := ""
	if who.Compte != nil {
		got = who.Compte.ID
	}
	if got != compte {
		t.Errorf("compte %q, want %q", got, compte)
	}
	if who.Outcome != "" && who.Compte != nil {
		t.Errorf("outcome %s with a compte: personal data could leak", who.Outcome)
	}
	if who.ReplyTo != replyTo {
		t.Errorf("reply to %q, want %q", who.ReplyTo, replyTo)
	}
}

func namedFirstNames(who identity.Identity) []string {
	var out []string
	for _, b := range who.Named {
		out = append(out, b.Prenom)
	}
	return out
}

func TestIdentifyGateway(t *testing.T) {
	ctx := context.Background()
	id := newIdentifier(sampleRegistry(t))
	claims := func(headers ...string) identity.Assertions {
		return identity.Assertions{From: testkit.GatewayAddr, Authenticated: true, GatewayNIRs: headers}
	}
	tests := []struct {
		name    string
		claims  identity.Assertions
		outcome rules.Outcome
		compte  string
		replyTo string
		named   string
	}{
		{"one header", claims(" " + testkit.NIRBenoit + " "), "", "C-BENOIT", testkit.GatewayAddr, ""},
		{"a child's NIR", claims(testkit.NIRLea), "", "C-BENOIT", testkit.GatewayAddr, "LÉA"},
		{"no header", claims(), rules.SenderUnverified, "", "", ""},
		{"two headers", claims(testkit.NIREva, testkit.NIRBenoit), rules.SenderUnverified, "", "", ""},
		{"two equal headers", claims(testkit.NIRBenoit, testkit.NIRBenoit), rules.SenderUnverified, "", "", ""},
		{"wrong key", claims(testkit.WrongKey(testkit.NIRBenoit)), rules.NIRInvalid, "", testkit.GatewayAddr, ""},
		{"unknown NIR", claims(testkit.UnknownNIR(t)), rules.SenderUnknown, "", testkit.GatewayAddr, ""},
		{"not authenticated", identity.Assertions{From: testkit.GatewayAddr, GatewayNIRs: []string{testkit.NIRBenoit}}, rules.SenderUnverified, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			who, err := id.Identify(ctx, tc.claims)
			if err != nil {
				t.Fatal(err)
			}
			checkIdentity(t, who, tc.outcome, tc.compte, tc.replyTo)
			if got := strings.Join(namedFirstNames(who), ","); got != tc.named {
				t.Errorf("named %q, want %q", got, tc.named)
			}
			if who.Channel != identity.ChannelGateway {
				t.Errorf("channel %s", who.Channel)
			}
			if tc.compte != "" && who.ReplyHeaders["X-Ameli-NIR"] != strings.TrimSpace(tc.claims.GatewayNIRs[0]) {
				t.Errorf("reply headers %v: the gateway cannot route the answer", who.ReplyHeaders)
			}
		})
	}
}

// TestIdentifyAgentSeveralNIRs pins the decision documented in the README
// for agents' messages naming zero, one or several NIRs.
func TestIdentifyAgentSeveralNIRs(t *testing.T) {
	ctx := context.Background()
	id := newIdentifier(sampleRegistry(t))
	valid := func(n string) request.FoundNIR { return request.FoundNIR{Normalized: n, Valid: true} }
	invalid := func(n string) request.FoundNIR { return request.FoundNIR{Normalized: n} }
	tests := []struct {
		name    string
		nirs    []request.FoundNIR
		outcome rules.Outcome
		compte  string
		named   string
	}{
		{"the insured's NIR", []request.FoundNIR{valid(testkit.NIRMarie)}, "", "C-MARIE", ""},
		{"written twice", []request.FoundNIR{valid(testkit.NIRMarie), valid(testkit.NIRMarie)}, "", "C-MARIE", ""},
		{"a child's NIR", []request.FoundNIR{valid(testkit.NIRLucas)}, "", "C-BENOIT", "LUCAS"},
		{"two children of one compte", []request.FoundNIR{valid(testkit.NIRLea), valid(testkit.NIRLucas)}, "", "C-BENOIT", "LÉA,LUCAS"},
		{"the insured and a child", []request.FoundNIR{valid(testkit.NIRBenoit), valid(testkit.NIRLea)}, "", "C-BENOIT", "BENOIT,LÉA"},
		{"with the NIR written without key", []request.FoundNIR{invalid(testkit.NIRMarie[:13]), valid(testkit.NIRMarie)}, "", "C-MARIE", ""},
		{"no NIR", nil, rules.NIRInvalid, "", ""},
		{"only a NIR without key", []request.FoundNIR{invalid(testkit.NIRMarie[:13])}, rules.NIRInvalid, "", ""},
		{"wrong key", []request.FoundNIR{invalid(testkit.WrongKey(testkit.NIRMarie))}, rules.NIRInvalid, "", ""},
		{"a wrong key beside a valid NIR", []request.FoundNIR{valid(testkit.NIRBenoit), invalid(testkit.WrongKey(testkit.NIRLea))}, rules.NIRInvalid, "", ""},
		{"unknown NIR", []request.FoundNIR{valid(testkit.UnknownNIR(t))}, rules.SenderUnknown, "", ""},
		{"an unknown NIR beside a known one", []request.FoundNIR{valid(testkit.NIRMarie), valid(testkit.UnknownNIR(t))}, rules.SenderUnknown, "", ""},
		{"NIRs of two comptes", []request.FoundNIR{valid(testkit.NIRMarie), valid(testkit.NIREva)}, rules.SenderAmbiguous, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			who, err := id.Identify(ctx, identity.Assertions{From: testkit.AgentAddr, Authenticated: true, NIRs: tc.nirs})
			if err != nil {
				t.Fatal(err)
			}
			checkIdentity(t, who, tc.outcome, tc.compte, testkit.AgentAddr)
			if got := strings.Join(namedFirstNames(who), ","); got != tc.named {
				t.Errorf("named %q, want %q", got, tc.named)
			}
			if who.Channel != identity.ChannelAgent {
				t.Errorf("channel %s", who.Channel)
			}
		})
	}
}

func TestIdentifyRegistryDownIsAnError(t *testing.T) {
	reg := sampleRegistry(t)
	reg.fail = errors.New("database is locked")
	id := newIdentifier(reg)
	for _, c := range []identity.Assertions{
		{From: "eva.dupont@example.org", Authenticated: true},
		{From: testkit.AgentAddr, Authenticated: true, NIRs: []request.FoundNIR{{Normalized: testkit.NIREva, Valid: true}}},
		{From: testkit.GatewayAddr, Authenticated: true, GatewayNIRs: []string{testkit.NIREva}},
	} {
		who, err := id.Identify(context.Background(), c)
		if !errors.Is(err, reg.fail) {
			t.Errorf("%s: error %v, want the registry's (the message is retried, not answered)", c.From, err)
		}
		if who.Compte != nil {
			t.Errorf("%s: a compte despite the error", c.From)
		}
	}
}
