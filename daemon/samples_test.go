package daemon

import (
	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/samples"
)

// SampleConfig is config.Default with the service and trust settings that
// the sample requests assume (samples/requests/expected.json): the embedded
// demo's configuration, and the tests'.
func SampleConfig() config.Config {
	exp := samples.ExpectedCases()
	cfg := config.Default()
	cfg.Service.Address = exp.ServiceAddress
	cfg.Trust.AuthservIDs = []string{exp.TrustedAuthservID}
	cfg.Trust.AgentDomains = exp.AgentDomains
	cfg.Trust.Gateway = config.GatewayConfig{Domain: exp.GatewayDomain, Header: exp.GatewayHeader}
	return cfg
}
