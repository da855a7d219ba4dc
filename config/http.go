package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"regexp"
	"time"

	"github.com/cpam/attestd/internal/passhash"
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
	// ClientCAs are PEM files of the CAs that sign the TLS client
	// certificates of API clients (api.clients[].cert_subject). With TLS on
	// and these set, the server asks for a client certificate and checks
	// any given against them; a client without one may still use a token.
	ClientCAs []string `yaml:"client_cas"`
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

// ConsoleUser is one operator. PasswordHash is an argon2id hash (PHC
// string) or a bcrypt one, as `attestd console hash-password` writes them;
// empty when the user logs in only through console.trusted_header.
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

// APIClient is one back end (web site, app, kiosk), known by a bearer
// token, a TLS client certificate, or either. TokenSHA256 is the hex SHA-256
// of its token: the token itself is never in the file. CertSubject is the
// common name or a subject alternative name (DNS name, e-mail address,
// URI) of its certificate, which one of http.client_cas must have signed.
type APIClient struct {
	// Name is in the logs and in the ledger (the Message-ID of its calls
	// is api:NAME:…): letters, digits, '.', '_' and '-'.
	Name        string `yaml:"name"`
	TokenSHA256 string `yaml:"token_sha256"`
	CertSubject string `yaml:"cert_subject"`
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
		case u.PasswordHash == "" && c.Console.TrustedHeader == "":
			return bad(key+".password_hash", "empty; make one with attestd console hash-password")
		case u.PasswordHash != "":
			if err := passhash.Validate(u.PasswordHash); err != nil {
				return bad(key+".password_hash", "%v; make one with attestd console hash-password", err)
			}
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
	return c.checkAPI()
}

var clientNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// checkAPI validates the API's clients, the TLS files and the client CAs.
func (c *Config) checkAPI() error {
	if c.HTTP.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(c.HTTP.TLSCert, c.HTTP.TLSKey); err != nil {
			return bad("http.tls_cert", "%v", err)
		}
	}
	if len(c.HTTP.ClientCAs) > 0 && c.HTTP.TLSCert == "" {
		return bad("http.client_cas", "client certificates need TLS: set tls_cert and tls_key")
	}
	for i, f := range c.HTTP.ClientCAs {
		if _, err := LoadCertPool([]string{f}); err != nil {
			return bad(fmt.Sprintf("http.client_cas[%d]", i), "%v", err)
		}
	}
	seen := map[string]bool{}
	for i, k := range c.API.Clients {
		key := fmt.Sprintf("api.clients[%d]", i)
		switch {
		case !clientNameRE.MatchString(k.Name) || seen[k.Name]:
			return bad(key+".name", "%q: want letters, digits, '.', '_' or '-', once", k.Name)
		case k.TokenSHA256 == "" && k.CertSubject == "":
			return bad(key, "needs token_sha256 or cert_subject")
		case k.CertSubject != "" && len(c.HTTP.ClientCAs) == 0:
			return bad(key+".cert_subject", "needs http.client_cas, the CAs that sign the client certificates")
		}
		if b, err := hex.DecodeString(k.TokenSHA256); k.TokenSHA256 != "" && (err != nil || len(b) != 32) {
			return bad(key+".token_sha256", "want 64 hex digits (attestd console api-token)")
		}
		seen[k.Name] = true
	}
	return nil
}

// LoadCertPool reads the certificates of PEM files into a pool; a file
// without any is an error.
func LoadCertPool(files []string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%s: no PEM certificate in it", f)
		}
	}
	return pool, nil
}
