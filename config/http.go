package config

import (
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"time"
)

// HTTPConfig is the `http` section: the one HTTP server of the operator
// console, the public pages and the API (issue 13).
type HTTPConfig struct {
	// Address is where it listens, e.g. 127.0.0.1:8080; empty: no server.
	Address string `yaml:"address"`
	// TLSCert and TLSKey are PEM files; both empty: plain HTTP (behind a
	// reverse proxy that terminates TLS).
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// InsecureCookies drops the Secure flag of the session cookie, for a
	// console reached over plain HTTP on localhost (the demo).
	InsecureCookies bool `yaml:"insecure_cookies"`
	// VerifyKeys are the public key files (PEM, as `attestd keys generate`
	// writes them) the public /verify page trusts; empty: the page says it
	// cannot check anything.
	VerifyKeys []string `yaml:"verify_keys"`
	// VerifyPerMinute bounds the /verify checks of one client address.
	VerifyPerMinute int `yaml:"verify_per_minute"`
}

// ConsoleConfig is the `console` section: who may log in to the console.
type ConsoleConfig struct {
	Users []ConsoleUser `yaml:"users"`
	// LockoutAfter failed log-ins in a row lock a name out for LockoutFor.
	LockoutAfter int      `yaml:"lockout_after"`
	LockoutFor   Duration `yaml:"lockout_for"`
	// SessionTTL is how long a session lasts without log-in.
	SessionTTL Duration `yaml:"session_ttl"`
	// TrustedHeader, for sites behind their SSO, names the header in which
	// a reverse proxy at one of TrustedProxies (addresses or CIDRs) gives
	// the logged-in user's name; that name must be among Users, whose role
	// applies. Empty (the default): log-in by password only.
	TrustedHeader  string   `yaml:"trusted_header"`
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// ConsoleUser is one operator. PasswordHash is a bcrypt hash, as written
// by `attestd console hash-password`; empty when the user logs in only
// through console.trusted_header.
type ConsoleUser struct {
	Name         string `yaml:"name"`
	Role         string `yaml:"role"` // viewer | operator
	PasswordHash string `yaml:"password_hash"`
}

// The console roles: a viewer reads, an operator also acts.
const (
	RoleViewer   = "viewer"
	RoleOperator = "operator"
)

// APIConfig is the `api` section: the clients of POST /v1/attestations.
type APIConfig struct {
	Clients []APIClient `yaml:"clients"`
}

// APIClient is one back end (web site, app, kiosk). TokenSHA256 is the hex
// SHA-256 of its bearer token: the token itself is never in the file.
type APIClient struct {
	Name        string `yaml:"name"`
	TokenSHA256 string `yaml:"token_sha256"`
}

func defaultHTTP() HTTPConfig { return HTTPConfig{VerifyPerMinute: 20} }

func defaultConsole() ConsoleConfig {
	return ConsoleConfig{LockoutAfter: 5, LockoutFor: Duration(15 * time.Minute), SessionTTL: Duration(8 * time.Hour)}
}

// checkHTTP validates the http, console and api sections.
func (c *Config) checkHTTP() error {
	if a := c.HTTP.Address; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return bad("http.address", "%q is not host:port", a)
		}
	}
	if (c.HTTP.TLSCert == "") != (c.HTTP.TLSKey == "") {
		return bad("http.tls_cert", "tls_cert and tls_key go together")
	}
	seen := map[string]bool{}
	for i, u := range c.Console.Users {
		key := fmt.Sprintf("console.users[%d]", i)
		switch {
		case u.Name == "" || seen[u.Name]:
			return bad(key+".name", "empty or given twice")
		case u.Role != RoleViewer && u.Role != RoleOperator:
			return bad(key+".role", "%q: want viewer or operator", u.Role)
		case !strings.HasPrefix(u.PasswordHash, "$2") && (u.PasswordHash != "" || c.Console.TrustedHeader == ""):
			return bad(key+".password_hash", "not a bcrypt hash; make one with attestd console hash-password")
		}
		seen[u.Name] = true
	}
	if c.HTTP.VerifyPerMinute < 1 {
		return bad("http.verify_per_minute", "must be at least 1")
	}
	if (c.Console.TrustedHeader == "") != (len(c.Console.TrustedProxies) == 0) {
		return bad("console.trusted_header", "trusted_header and trusted_proxies go together")
	}
	for i, p := range c.Console.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			return bad(fmt.Sprintf("console.trusted_proxies[%d]", i), "%q is not an address or a CIDR", p)
		}
	}
	if c.Console.LockoutAfter < 1 {
		return bad("console.lockout_after", "must be at least 1")
	}
	for i, k := range c.API.Clients {
		if b, err := hex.DecodeString(k.TokenSHA256); err != nil || len(b) != 32 || k.Name == "" {
			return bad(fmt.Sprintf("api.clients[%d]", i), "needs a name and token_sha256, 64 hex digits")
		}
	}
	return nil
}
