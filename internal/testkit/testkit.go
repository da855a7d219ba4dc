// Package testkit holds what several packages' tests share: running the
// attestd binary, the in-process mail servers (internal/localmail), the
// NIRs of the sample registry and NIRs that are wrong on purpose (the DKIM
// test keys are mailauth/dkimtest's). Only tests import it.
package testkit

import (
	"testing"

	"github.com/cpam/attestd/rules"
)

// The NIRs of the sample registry (samples/registry.json) the tests name.
const (
	NIREva    = "290107511104250"
	NIRBenoit = "185066912308738"
	NIRLea    = "215036912324511"
	NIRLucas  = "115036912324660"
	NIRMarie  = "293082A00401264"
	NIRThomas = "181046912330284"
)

// The senders of the sample configuration's trusted channels.
const (
	AgentAddr   = "agent.martin@agents.cpam.example"
	GatewayAddr = "messagerie@messagerie.ameli.example"
)

// UnknownNIR is a NIR whose key checks and that no one in the sample
// registry has.
func UnknownNIR(t testing.TB) string {
	t.Helper()
	const body = "1850175123456"
	key, err := rules.NIRKey(body)
	if err != nil {
		t.Fatal(err)
	}
	return body + key
}

// WrongKey returns nir with a key that does not check.
func WrongKey(nir string) string {
	k := nir[13:]
	if k == "00" {
		return nir[:13] + "01"
	}
	return nir[:13] + "00"
}
