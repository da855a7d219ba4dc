// Package config reads attestd's YAML configuration (SPEC section 12): the
// sections, their defaults, the check that names the first wrong key, the
// secrets (passwords never sit in the file) and the DKIM keys.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the YAML configuration file of `attestd run` (SPEC section 12).
// Every key is documented in the README. Secrets are never in the file:
// each password comes from password_file or password_env.
type Config struct {
	Service  ServiceConfig  `yaml:"service"`
	IMAP     IMAPConfig     `yaml:"imap"`
	SMTP     SMTPConfig     `yaml:"smtp"`
	Store    StoreConfig    `yaml:"store"`
	Trust    TrustConfig    `yaml:"trust"`
	Limits   LimitsConfig   `yaml:"limits"`
	Outbox   OutboxConfig   `yaml:"outbox"`
	Registry RegistryConfig `yaml:"registry"`
	Metrics  MetricsConfig  `yaml:"metrics"`
	Log      LogConfig      `yaml:"log"`
	// HTTP, Console and API are the web server (issue 13).
	HTTP    HTTPConfig    `yaml:"http"`
	Console ConsoleConfig `yaml:"console"`
	API     APIConfig     `yaml:"api"`
	// DKIM is the key replies are signed with; empty: unsigned.
	DKIM DKIMConfig `yaml:"dkim"`
	// Signing is the key of the attestations' signed 2D code; empty: none.
	Signing SigningConfig `yaml:"signing"`
	// Templates is a directory whose files override the embedded reply
	// templates of the same name. Empty: embedded only.
	Templates string `yaml:"templates"`
	// Workers bounds how many messages are decided (and their PDF rendered)
	// at once. Default: the number of CPUs.
	Workers int `yaml:"workers"`
}

// ServiceConfig names the service.
type ServiceConfig struct {
	Address string `yaml:"address"` // From of every reply
	Domain  string `yaml:"domain"`  // right-hand side of Message-IDs
}

// Secret is a password read from a file or an environment variable.
type Secret struct {
	File string `yaml:"password_file"`
	Env  string `yaml:"password_env"`
}

// IMAPConfig is the `imap` section.
type IMAPConfig struct {
	Address    string `yaml:"address"`
	TLS        string `yaml:"tls"`
	Username   string `yaml:"username"`
	Secret     `yaml:",inline"`
	Mailbox    string        `yaml:"mailbox"`
	Folders    FoldersConfig `yaml:"folders"`
	IdleWakeup Duration      `yaml:"idle_wakeup"`
	// BusyPoll is the NOOP interval of the watching connection while
	// requests keep arriving (inbox.IMAPConfig.BusyPoll); 0: IDLE only.
	BusyPoll Duration `yaml:"busy_poll"`
	// PollInterval is the safety-net poll of the work connection.
	PollInterval Duration `yaml:"poll_interval"`
	Timeout      Duration `yaml:"timeout"`
	// InsecureSkipVerify disables TLS certificate checks (test servers).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// Mailboxes are the mailboxes watched, one per caisse or channel; the
	// keys above are their defaults. Empty: the one mailbox of username,
	// password_*, mailbox and folders (see Config.Mailboxes).
	Mailboxes []MailboxConfig `yaml:"mailboxes,omitempty"`
}

// FoldersConfig names the folders messages end in.
type FoldersConfig struct {
	Processed  string `yaml:"processed"`
	Manual     string `yaml:"manual"`
	Quarantine string `yaml:"quarantine"`
}

// SMTPConfig is the `smtp` section.
type SMTPConfig struct {
	Address            string `yaml:"address"`
	TLS                string `yaml:"tls"`
	Username           string `yaml:"username"`
	Secret             `yaml:",inline"`
	HELO               string   `yaml:"helo"`
	Timeout            Duration `yaml:"timeout"`
	InsecureSkipVerify bool     `yaml:"insecure_skip_verify"`
}

// StoreConfig is the `store` section.
type StoreConfig struct {
	Driver string `yaml:"driver"` // sqlite | postgres
	DSN    string `yaml:"dsn"`
}

// TrustConfig is the `trust` section: who is believed.
type TrustConfig struct {
	AuthservIDs    []string      `yaml:"authserv_ids"`
	AgentDomains   []string      `yaml:"agent_domains"`
	AgentAddresses []string      `yaml:"agent_addresses"`
	Gateway        GatewayConfig `yaml:"gateway"`
	// DKIMKeys maps "selector._domainkey.domain" to a DKIM TXT record, for
	// closed networks and tests; names not listed are looked up in DNS.
	DKIMKeys map[string]string `yaml:"dkim_keys"`
}

// GatewayConfig identifies the secure-messaging gateway.
type GatewayConfig struct {
	Domain string `yaml:"domain"`
	Header string `yaml:"header"`
}

// LimitsConfig is the `limits` section (SPEC sections 7 and 9).
type LimitsConfig struct {
	MaxMessageBytes                int64 `yaml:"max_message_bytes"`
	MaxMIMEDepth                   int   `yaml:"max_mime_depth"`
	MaxMIMEParts                   int   `yaml:"max_mime_parts"`
	MaxForwardDepth                int   `yaml:"max_forward_depth"`
	MaxTextBytes                   int   `yaml:"max_text_bytes"`
	AttestationsPerComptePerDay    int   `yaml:"attestations_per_compte_per_day"`
	GenericRepliesPerAddressPerDay int   `yaml:"generic_replies_per_address_per_day"`
	MaxAttempts                    int   `yaml:"max_attempts"`
}

// OutboxConfig is the `outbox` section: SMTP retries and retention.
type OutboxConfig struct {
	RetryInitial Duration `yaml:"retry_initial"`
	RetryMax     Duration `yaml:"retry_max"`
	MaxAttempts  int      `yaml:"max_attempts"`
	// Retention is how long the raw content of handled requests (and of
	// their replies) is kept; 0 keeps it for ever. Outcome records stay.
	Retention Duration `yaml:"retention"`
	// Journal is the sent journal's file (see queue.Journal): replies handed
	// to the relay are noted there before its answer, so that a crash does
	// not send them again. "database" keeps it in the store's
	// sent_handover table, which every replica reads. When the key is
	// absent from the file, Parse sets it to "<store.dsn>.sent" for SQLite
	// and "database" for PostgreSQL; "off": no journal.
	Journal string `yaml:"journal"`
	// Node names this replica in the store's sender marks, the same across
	// its restarts and different from every other replica's: a reply it
	// may have handed to the relay when it died waits for it to start
	// again and read its journal file, for at most SenderWait, before
	// another replica sends it. When absent and the journal is a file,
	// Parse sets it to "<host name>:<journal path>"; "" without a file.
	Node string `yaml:"node"`
	// SenderWait is how long another replica waits for that (default 1m).
	// It must be longer than smtp.timeout: a live replica's slow send.
	SenderWait Duration `yaml:"sender_wait"`
}

// RegistryConfig optionally imports a registry file at start.
type RegistryConfig struct {
	ImportOnStart string `yaml:"import_on_start"`
}

// MetricsConfig is the `metrics` section.
type MetricsConfig struct {
	Address string `yaml:"address"` // e.g. 127.0.0.1:9464; empty: no HTTP endpoint
}

// LogConfig is the `log` section.
type LogConfig struct {
	// Level is the least severe level logged: debug, info, warn or error
	// (slog's names; "warn+2" and the like work too). Default: info.
	Level string `yaml:"level"`
}

// SlogLevel is the level Level names.
func (l LogConfig) SlogLevel() (slog.Level, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(l.Level)); err != nil {
		return 0, fmt.Errorf("%q: want debug, info, warn or error", l.Level)
	}
	return lv, nil
}

// Duration is a time.Duration written as "100ms", "5s", "720h".
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration like 100ms, 5s or 720h", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes d the way UnmarshalYAML reads it ("1m30s"), so that
// a Config written out (by attestd bench, say) loads back the same.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Default returns the configuration every file starts from.
func Default() Config {
	return Config{
		Service: ServiceConfig{Address: "attestation@cpam.example", Domain: "cpam.example"},
		IMAP: IMAPConfig{
			Address: "127.0.0.1:10143", TLS: "none", Mailbox: "INBOX",
			Folders:    FoldersConfig{Processed: "Processed", Manual: "Manual", Quarantine: "Quarantine"},
			IdleWakeup: Duration(300 * time.Millisecond), BusyPoll: Duration(20 * time.Millisecond),
			PollInterval: Duration(5 * time.Second),
			Timeout:      Duration(30 * time.Second),
		},
		SMTP:  SMTPConfig{Address: "127.0.0.1:10025", TLS: "none", Timeout: Duration(30 * time.Second)},
		Store: StoreConfig{Driver: "sqlite", DSN: "attestd.db"},
		Trust: TrustConfig{Gateway: GatewayConfig{Header: "X-Ameli-NIR"}},
		Limits: LimitsConfig{
			MaxMessageBytes: 10 << 20, MaxMIMEDepth: 20, MaxMIMEParts: 200, MaxForwardDepth: 3,
			MaxTextBytes: 64 << 10, AttestationsPerComptePerDay: 10, GenericRepliesPerAddressPerDay: 3,
			MaxAttempts: 3,
		},
		Log: LogConfig{Level: "info"},
		Outbox: OutboxConfig{
			RetryInitial: Duration(5 * time.Second), RetryMax: Duration(30 * time.Minute), MaxAttempts: 20,
			Retention: Duration(30 * 24 * time.Hour), SenderWait: Duration(time.Minute),
		},
		HTTP:    defaultHTTP(),
		Console: defaultConsole(),
	}
}

// Load reads and checks a configuration file. Unknown keys are errors,
// so that a typo does not silently keep a default.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	return Parse(data)
}

// Parse reads a configuration from YAML over Default and checks it.
func Parse(data []byte) (Config, error) {
	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, oneLine(err)
	}
	if cfg.Outbox.Journal == "" {
		cfg.Outbox.Journal = defaultJournal(cfg.Store)
	}
	if cfg.Outbox.Node == "" && cfg.Outbox.JournalPath() != "" {
		cfg.Outbox.Node = defaultNode(cfg.Outbox.JournalPath())
	}
	cfg.IMAP.Mailboxes = cfg.withDefaults() // what check-config --print shows
	return cfg, cfg.Check()
}

// oneLine turns a YAML error into the one-line message the commands print.
func oneLine(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("config: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		if a, b, ok := strings.Cut(m, ": field "); ok {
			key, _, _ := strings.Cut(b, " not found")
			m = a + ": unknown key " + key
		}
		msgs[i] = m
	}
	return fmt.Errorf("config: %s", strings.Join(msgs, "; "))
}

// Error names the key that is wrong.
type Error struct {
	Key     string
	Problem string
}

func (e *Error) Error() string { return fmt.Sprintf("config: %s: %s", e.Key, e.Problem) }

// Check validates every setting and names the first wrong key.
func (c *Config) Check() error {
	for _, check := range []func() error{c.checkService, c.checkIMAP, c.checkStore, c.checkTrust, c.checkDKIM,
		c.checkSigning, c.checkLimits, c.checkOutbox, c.checkMetrics, c.checkSecrets, c.checkHTTP} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// bad is the Error of a wrong key.
func bad(key, format string, args ...any) error {
	return &Error{Key: key, Problem: fmt.Sprintf(format, args...)}
}

func (c *Config) checkService() error {
	if _, err := mail.ParseAddress(c.Service.Address); err != nil {
		return bad("service.address", "%q is not an e-mail address", c.Service.Address)
	}
	if c.Service.Domain == "" || strings.ContainsAny(c.Service.Domain, " @<>") {
		return bad("service.domain", "%q is not a domain name", c.Service.Domain)
	}
	for key, addr := range map[string]string{"imap.address": c.IMAP.Address, "smtp.address": c.SMTP.Address} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return bad(key, "%q is not host:port", addr)
		}
	}
	for key, mode := range map[string]string{"imap.tls": c.IMAP.TLS, "smtp.tls": c.SMTP.TLS} {
		if mode != "none" && mode != "starttls" && mode != "tls" {
			return bad(key, "%q: want none, starttls or tls", mode)
		}
	}
	return nil
}

func (c *Config) checkIMAP() error {
	if c.IMAP.Mailbox == "" {
		return bad("imap.mailbox", "empty")
	}
	f := c.IMAP.Folders
	if f.Processed == "" || f.Manual == "" || f.Quarantine == "" {
		return bad("imap.folders", "processed, manual and quarantine must all be named")
	}
	if err := c.checkMailboxes(); err != nil {
		return err
	}
	if c.IMAP.IdleWakeup < 0 || c.IMAP.BusyPoll < 0 || c.IMAP.PollInterval <= 0 {
		return bad("imap.poll_interval", "must be positive (and idle_wakeup, busy_poll not negative)")
	}
	return nil
}

func (c *Config) checkStore() error {
	if c.Store.Driver != "sqlite" && c.Store.Driver != "postgres" {
		return bad("store.driver", "%q: want sqlite or postgres", c.Store.Driver)
	}
	if c.Store.DSN == "" {
		return bad("store.dsn", "empty: a file name for sqlite, a URL for postgres")
	}
	return nil
}

func (c *Config) checkTrust() error {
	if len(c.Trust.AuthservIDs) == 0 {
		return bad("trust.authserv_ids", "empty: without a trusted receiving server no sender can be authenticated")
	}
	if c.Trust.Gateway.Domain != "" && c.Trust.Gateway.Header == "" {
		return bad("trust.gateway.header", "empty while trust.gateway.domain is set")
	}
	return nil
}

func (c *Config) checkLimits() error {
	l := c.Limits
	switch {
	case l.MaxMessageBytes <= 0:
		return bad("limits.max_message_bytes", "must be positive")
	case l.MaxMIMEDepth <= 0 || l.MaxMIMEParts <= 0 || l.MaxForwardDepth < 0 || l.MaxTextBytes <= 0:
		return bad("limits", "max_mime_depth, max_mime_parts and max_text_bytes must be positive")
	case l.AttestationsPerComptePerDay <= 0:
		return bad("limits.attestations_per_compte_per_day", "must be positive")
	case l.GenericRepliesPerAddressPerDay <= 0:
		return bad("limits.generic_replies_per_address_per_day", "must be positive")
	case l.MaxAttempts <= 0:
		return bad("limits.max_attempts", "must be positive")
	}
	return nil
}

func (c *Config) checkOutbox() error {
	if c.Outbox.RetryInitial <= 0 || c.Outbox.RetryMax < c.Outbox.RetryInitial || c.Outbox.MaxAttempts <= 0 {
		return bad("outbox", "retry_initial > 0, retry_max >= retry_initial and max_attempts > 0 expected")
	}
	if c.Outbox.Retention < 0 {
		return bad("outbox.retention", "must not be negative (0 keeps raw content for ever)")
	}
	if c.Outbox.SenderWait <= c.SMTP.Timeout {
		return bad("outbox.sender_wait", "must be longer than smtp.timeout (%s): a replica still sending would be overtaken", c.SMTP.Timeout.D())
	}
	if strings.ContainsAny(c.Outbox.Node, "\r\n") {
		return bad("outbox.node", "must be one line")
	}
	// outbox.journal is opened at start, with an error naming the key: like
	// store.dsn, its directory may exist only where the daemon runs (a
	// container's volume), not where check-config does.
	return nil
}

func (c *Config) checkMetrics() error {
	if _, err := c.Log.SlogLevel(); err != nil {
		return bad("log.level", "%v", err)
	}
	if c.Workers < 0 {
		return bad("workers", "must not be negative")
	}
	if a := c.Metrics.Address; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return bad("metrics.address", "%q is not host:port (e.g. 127.0.0.1:9464), or leave it empty for no endpoint", a)
		}
	}
	return nil
}

func (c *Config) checkSecrets() error {
	if err := c.checkMailboxSecrets(); err != nil {
		return err
	}
	if c.SMTP.Username != "" {
		if _, err := c.SMTP.Password(); err != nil {
			return bad("smtp.password_env", "%v", err)
		}
	}
	return c.checkHTTP()
}

// Password reads the secret from its file or environment variable.
func (s Secret) Password() (string, error) {
	switch {
	case s.File != "" && s.Env != "":
		return "", errors.New("set password_file or password_env, not both")
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return "", fmt.Errorf("password_file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", s.Env)
		}
		return v, nil
	}
	return "", errors.New("no password_file nor password_env: passwords never sit in the file")
}

// JournalInDatabase is the outbox.journal value that keeps the sent
// journal in the store (table sent_handover), where every replica of a
// cluster reads it: PostgreSQL's default.
const JournalInDatabase = "database"

// defaultJournal is the sent journal beside a SQLite database file
// ("attestd.db.sent"), in the database for PostgreSQL, none for an
// in-memory database.
func defaultJournal(st StoreConfig) string {
	if st.Driver == "postgres" {
		return JournalInDatabase
	}
	if st.Driver != "sqlite" {
		return ""
	}
	path, query, _ := strings.Cut(strings.TrimPrefix(st.DSN, "file:"), "?")
	if path == "" || path == ":memory:" || strings.Contains(query, "mode=memory") {
		return ""
	}
	return path + ".sent"
}

// defaultNode is outbox.node for a journal file at path: this host and
// the file, which together stay the same across restarts and tell the
// replicas of one host apart.
func defaultNode(path string) string {
	host, _ := os.Hostname()
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return host + ":" + path
}

// JournalPath is the sent journal's file, "" when there is none (or it
// is in the database).
func (o OutboxConfig) JournalPath() string {
	if o.Journal == "off" || o.Journal == JournalInDatabase {
		return ""
	}
	return o.Journal
}

// JournalInDatabase reports whether the sent journal is kept in the
// database (outbox.journal "database").
func (o OutboxConfig) JournalInDatabase() bool { return o.Journal == JournalInDatabase }
