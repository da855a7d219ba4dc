package daemon_test

import (
	"context"
	"strings"
	"testing"

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

// The sample NIRs the tests use.
const (
	nirEva     = "290107511104250"
	nirBenoit  = "185066912308738"
	nirLea     = "215036912324511"
	nirLucas   = "115036912324660"
	nirMarie   = "293082A00401264"
	nirThomas  = "181046912330284"
	agentAddr  = "agent.martin@agents.cpam.example"
	gatewayAdr = "messagerie@messagerie.ameli.example"
)

// unknownNIR is a NIR whose key checks and that no one in the registry has.
func unknownNIR(t testing.TB) string {
	t.Helper()
	const body = "1850175123456"
	key, err := rules.NIRKey(body)
	if err != nil {
		t.Fatal(err)
	}
	return body + key
}

// wrongKey returns nir with a key that does not check.
func wrongKey(nir string) string {
	k := nir[13:]
	if k == "00" {
		return nir[:13] + "01"
	}
	return nir[:13] + "00"
}
