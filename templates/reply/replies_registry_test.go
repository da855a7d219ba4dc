package reply

import (
	"testing"

	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/samples"
)

// rtRegistry is the sample registry: comptes by id, in file order too.
type rtRegistry struct {
	byID  map[string]*rules.Compte
	order []*rules.Compte
}

// compte returns the compte with id, failing the test when there is none.
func (r *rtRegistry) compte(t testing.TB, id string) *rules.Compte {
	t.Helper()
	c, ok := r.byID[id]
	if !ok {
		t.Fatalf("sample registry has no compte %q", id)
	}
	return c
}

func rtLoadRegistry(t testing.TB) *rtRegistry {
	t.Helper()
	parsed, err := samples.ParsedRegistry()
	if err != nil {
		t.Fatal(err)
	}
	reg := &rtRegistry{byID: map[string]*rules.Compte{}}
	for i := range parsed.Comptes {
		c := &parsed.Comptes[i]
		reg.byID[c.ID] = c
		reg.order = append(reg.order, c)
	}
	return reg
}
