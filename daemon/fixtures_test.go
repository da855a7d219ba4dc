package daemon_test

import "github.com/cpam/attestd/internal/testkit"

// The sample NIRs and senders the tests use.
const (
	nirEva     = testkit.NIREva
	nirBenoit  = testkit.NIRBenoit
	nirLea     = testkit.NIRLea
	nirLucas   = testkit.NIRLucas
	nirMarie   = testkit.NIRMarie
	agentAddr  = testkit.AgentAddr
	gatewayAdr = testkit.GatewayAddr
)

var (
	unknownNIR = testkit.UnknownNIR
	wrongKey   = testkit.WrongKey
)
