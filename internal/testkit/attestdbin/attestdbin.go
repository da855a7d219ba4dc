// Package attestdbin builds the attestd binary and writes the
// configuration of its `attestd run` for the tests that run it as a child
// process (package testkit cannot: the store's own tests import it, and
// the samples import the store).
package attestdbin

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/cpam/attestd/samples"
)

// Build builds cmd/attestd into dir and returns the binary's path,
// for tests that run it as a child process (TestMain has no testing.T).
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "attestd")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/cpam/attestd/cmd/attestd").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/attestd: %v\n%s", err, out)
	}
	return bin, nil
}

// Config is the configuration of `attestd run` against test servers,
// with the samples' trust settings (samples/expected.json), fast IMAP
// polling and short retries.
type Config struct {
	IMAP, User, SMTP string
	// PasswordEnv names the variable holding the IMAP password.
	PasswordEnv string
	// DSN is the SQLite store's file.
	DSN string
	// DailyLimit is both daily limits: high, so that the tests' many
	// requests are all answered.
	DailyLimit int
	// MaxAttempts is limits.max_attempts; 0: the default.
	MaxAttempts int
	// Registry is imported at start; "": none (imported beforehand).
	Registry string
	// Workers is the number of workers; 0: the default.
	Workers int
}

// YAML is the configuration file's text.
func (c Config) YAML() string {
	exp := samples.ExpectedCases()
	var b strings.Builder
	fmt.Fprintf(&b, `service: {address: %s, domain: cpam.example}
imap:
  address: %s
  username: %s
  password_env: %s
  idle_wakeup: 50ms
  poll_interval: 1s
smtp: {address: %s}
store: {driver: sqlite, dsn: %s}
trust:
  authserv_ids: [%s]
  agent_domains: [%s]
  gateway: {domain: %s, header: %s}
limits: {attestations_per_compte_per_day: %d, generic_replies_per_address_per_day: %d`,
		exp.ServiceAddress, c.IMAP, c.User, c.PasswordEnv, c.SMTP, c.DSN, exp.TrustedAuthservID,
		strings.Join(exp.AgentDomains, ", "), exp.GatewayDomain, exp.GatewayHeader, c.DailyLimit, c.DailyLimit)
	if c.MaxAttempts > 0 {
		fmt.Fprintf(&b, ", max_attempts: %d", c.MaxAttempts)
	}
	b.WriteString("}\noutbox: {retry_initial: 100ms, retry_max: 1s}\n")
	if c.Registry != "" {
		fmt.Fprintf(&b, "registry: {import_on_start: %s}\n", c.Registry)
	}
	if c.Workers > 0 {
		fmt.Fprintf(&b, "workers: %d\n", c.Workers)
	}
	return b.String()
}
