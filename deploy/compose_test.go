package deploy

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cpam/attestd/config"
	"gopkg.in/yaml.v3"
)

// There is no Docker engine where the tests run: these tests read
// docker-compose.yml and the files it mounts, and check that they agree.

// repoRoot is where docker-compose.yml sits, seen from this package.
const repoRoot = ".."

type composeFile struct {
	Services map[string]*service `yaml:"services"`
	Volumes  map[string]any      `yaml:"volumes"`
}

type service struct {
	name        string
	Build       buildSpec         `yaml:"build"`
	Image       string            `yaml:"image"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Hostname    string            `yaml:"hostname"`
	Ports       []string          `yaml:"ports"`
	Profiles    []string          `yaml:"profiles"`
	DependsOn   yaml.Node         `yaml:"depends_on"`
}

// buildSpec is compose's build: a context path, or {context, dockerfile}.
type buildSpec struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

// UnmarshalYAML accepts both forms of build.
func (b *buildSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		b.Context = n.Value
		return nil
	}
	type plain buildSpec
	return n.Decode((*plain)(b))
}

// mount is one entry of a service's volumes, short syntax.
type mount struct {
	Source, Target string
	// Bind is true for a host path, false for a named volume.
	Bind bool
}

func (s *service) mounts(t *testing.T) []mount {
	t.Helper()
	var ms []mount
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 {
			t.Fatalf("service %s: volume %q is not SOURCE:TARGET[:MODE]", s.name, v)
		}
		src := parts[0]
		ms = append(ms, mount{Source: src, Target: parts[1], Bind: strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/")})
	}
	return ms
}

// hostPath returns the file of the repository that the service sees at
// containerPath, through a bind mount.
func (s *service) hostPath(t *testing.T, containerPath string) (string, bool) {
	t.Helper()
	for _, m := range s.mounts(t) {
		if !m.Bind {
			continue
		}
		if containerPath == m.Target {
			return filepath.Join(repoRoot, m.Source), true
		}
		if rest, ok := strings.CutPrefix(containerPath, m.Target+"/"); ok {
			return filepath.Join(repoRoot, m.Source, rest), true
		}
	}
	return "", false
}

// volumeAt returns the named volume that holds containerPath.
func (s *service) volumeAt(t *testing.T, containerPath string) (string, bool) {
	t.Helper()
	for _, m := range s.mounts(t) {
		if !m.Bind && (containerPath == m.Target || strings.HasPrefix(containerPath, m.Target+"/")) {
			return m.Source, true
		}
	}
	return "", false
}

// dependsOn lists the services s waits for, whichever syntax is used.
func (s *service) dependsOn() []string {
	var names []string
	switch s.DependsOn.Kind {
	case yaml.SequenceNode:
		for _, n := range s.DependsOn.Content {
			names = append(names, n.Value)
		}
	case yaml.MappingNode:
		for i := 0; i < len(s.DependsOn.Content); i += 2 {
			names = append(names, s.DependsOn.Content[i].Value)
		}
	}
	return names
}

// flag returns the value that follows name in the command.
func (s *service) flag(name string) (string, bool) {
	i := slices.Index(s.Command, name)
	if i < 0 || i+1 >= len(s.Command) {
		return "", false
	}
	return s.Command[i+1], true
}

// publishes reports whether s publishes containerPort on the host.
func (s *service) publishes(containerPort string) bool {
	for _, p := range s.Ports {
		if strings.HasSuffix(p, ":"+containerPort) {
			return true
		}
	}
	return false
}

func loadCompose(t *testing.T) *composeFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for name, s := range c.Services {
		if s == nil {
			t.Fatalf("docker-compose.yml: service %s is empty", name)
		}
		s.name = name
	}
	return &c
}

func (c *composeFile) service(t *testing.T, name string) *service {
	t.Helper()
	s, ok := c.Services[name]
	if !ok {
		t.Fatalf("docker-compose.yml has no service %q", name)
	}
	return s
}

// attestdServices returns the services that run `attestd run --config`.
func (c *composeFile) attestdServices(t *testing.T) []*service {
	t.Helper()
	var out []*service
	for _, s := range c.Services {
		if len(s.Command) > 0 && s.Command[0] == "run" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		t.Fatal("docker-compose.yml: no service runs attestd (command: [run, --config, FILE])")
	}
	slices.SortFunc(out, func(a, b *service) int { return strings.Compare(a.name, b.name) })
	return out
}

// attestdConfig reads the configuration file that s runs with, through
// attestd's own parser (config.Load: unknown keys and bad values are
// errors), in the environment that compose gives the service: a password
// named by password_env must be set there.
func attestdConfig(t *testing.T, s *service) config.Config {
	t.Helper()
	cfgPath, ok := s.flag("--config")
	if !ok {
		t.Fatalf("service %s: command %v has no --config FILE", s.name, s.Command)
	}
	file, ok := s.hostPath(t, cfgPath)
	if !ok {
		t.Fatalf("service %s: --config %s is not mounted from the repository", s.name, cfgPath)
	}
	for _, name := range []string{"ATTESTD_IMAP_PASSWORD", "ATTESTD_IMAP_PASSWORD_LYON", "ATTESTD_SMTP_PASSWORD", "PGPASSWORD"} {
		if _, set := s.Environment[name]; !set {
			unsetenv(t, name)
		}
	}
	for k, v := range s.Environment {
		t.Setenv(k, v)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatalf("service %s: attestd refuses %s with the service's environment: %v", s.name, file, err)
	}
	return cfg
}

// unsetenv removes an environment variable for the duration of the test.
func unsetenv(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "") // restores the old value (or none) when the test ends
	os.Unsetenv(name)
}

// dovecotConf reads the configuration the dovecot service starts with.
func dovecotConf(t *testing.T, dovecot *service) (doveconf, []string) {
	t.Helper()
	confPath, ok := dovecot.flag("-c")
	if !ok {
		t.Fatalf("service dovecot: command %v has no -c FILE", dovecot.Command)
	}
	file, ok := dovecot.hostPath(t, confPath)
	if !ok {
		t.Fatalf("service dovecot: -c %s is not mounted from the repository", confPath)
	}
	read := []string{file}
	conf, err := readDoveconf(file, func(p string) (string, error) {
		f, ok := dovecot.hostPath(t, p)
		if !ok {
			return "", fmt.Errorf("!include %s is not mounted from the repository", p)
		}
		read = append(read, f)
		return f, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return conf, read
}

func splitHostPort(t *testing.T, key, addr string) (string, string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s %q: %v", key, addr, err)
	}
	return host, port
}

func TestComposeMountsAndBuildsExist(t *testing.T) {
	c := loadCompose(t)
	used := map[string]bool{}
	for _, s := range c.Services {
		for _, m := range s.mounts(t) {
			if m.Bind {
				if _, err := os.Stat(filepath.Join(repoRoot, m.Source)); err != nil {
					t.Errorf("service %s mounts %s, which is not in the repository: %v", s.name, m.Source, err)
				}
				continue
			}
			used[m.Source] = true
			if _, ok := c.Volumes[m.Source]; !ok {
				t.Errorf("service %s mounts volume %q, which docker-compose.yml does not declare under volumes:", s.name, m.Source)
			}
		}
		if s.Build.Context != "" {
			dockerfile := s.Build.Dockerfile
			if dockerfile == "" {
				dockerfile = "Dockerfile"
			}
			if _, err := os.Stat(filepath.Join(repoRoot, s.Build.Context, dockerfile)); err != nil {
				t.Errorf("service %s builds from %s: %v", s.name, s.Build.Context, err)
			}
		}
		if s.Build.Context == "" && s.Image == "" {
			t.Errorf("service %s has neither build nor image", s.name)
		}
	}
	for name := range c.Volumes {
		if !used[name] {
			t.Errorf("volume %q is declared but no service mounts it", name)
		}
	}
}

func TestComposeAttestdReachesDovecotAsAKnownUser(t *testing.T) {
	c := loadCompose(t)
	dovecot := c.service(t, "dovecot")
	conf, _ := dovecotConf(t, dovecot)
	passdb := strings.Fields(conf["passdb/args"])
	if len(passdb) == 0 {
		t.Fatal("dovecot: passdb has no args (passwd-file path)")
	}
	usersFile, ok := dovecot.hostPath(t, passdb[len(passdb)-1])
	if !ok {
		t.Fatalf("dovecot: passwd-file %s is not mounted from the repository", passdb[len(passdb)-1])
	}
	users, err := readPasswd(usersFile)
	if err != nil {
		t.Fatal(err)
	}
	port := conf["service imap-login/inet_listener imap/port"]
	if listen := conf["listen"]; !strings.Contains(listen, "*") && !strings.Contains(listen, "0.0.0.0") {
		t.Errorf("dovecot listens on %q only: the other containers cannot reach it (docker.conf sets listen = *)", listen)
	}
	if !dovecot.publishes(port) {
		t.Errorf("dovecot listens on %s but publishes %v", port, dovecot.Ports)
	}

	for _, s := range c.attestdServices(t) {
		cfg := attestdConfig(t, s)
		for _, m := range cfg.Mailboxes() {
			key := s.name + " " + m.Where()
			host, p := splitHostPort(t, key+".address", m.Address)
			if host != "dovecot" || p != port {
				t.Errorf("%s: address %s, want dovecot:%s (Dovecot's inet_listener imap)", key, m.Address, port)
			}
			want, ok := users[m.Username]
			if !ok {
				t.Errorf("%s: username %s is not in %s", key, m.Username, usersFile)
				continue
			}
			if m.Secret.Env == "" || m.Secret.File != "" {
				t.Errorf("%s: password_env is not set (or password_file is): compose gives the password in the environment", key)
			} else if got, _ := m.Secret.Password(); got != want {
				t.Errorf("%s: %s=%q, but %s has password %q for %s", key, m.Secret.Env, got, usersFile, want, m.Username)
			}
		}
		if !slices.Contains(s.dependsOn(), "dovecot") {
			t.Errorf("service %s does not depend on dovecot", s.name)
		}
	}
}

func TestComposeAttestdSendsToMailpit(t *testing.T) {
	c := loadCompose(t)
	mailpit := c.service(t, "mailpit")
	smtp, ok := mailpit.flag("--smtp")
	if !ok {
		t.Fatalf("mailpit: command %v does not set --smtp", mailpit.Command)
	}
	_, smtpPort := splitHostPort(t, "mailpit --smtp", smtp)
	if !slices.Contains(mailpit.Command, "--disable-version-check") {
		t.Error("mailpit runs without --disable-version-check: it would try the internet")
	}
	if ui, ok := mailpit.flag("--listen"); !ok {
		t.Error("mailpit: command does not set --listen")
	} else if _, uiPort := splitHostPort(t, "mailpit --listen", ui); !mailpit.publishes(uiPort) {
		t.Errorf("mailpit's web UI listens on %s but is not published (%v)", uiPort, mailpit.Ports)
	}

	for _, s := range c.attestdServices(t) {
		cfg := attestdConfig(t, s)
		host, p := splitHostPort(t, s.name+" smtp.address", cfg.SMTP.Address)
		if host != "mailpit" || p != smtpPort {
			t.Errorf("service %s: smtp.address %s, want mailpit:%s (Mailpit's --smtp)", s.name, cfg.SMTP.Address, smtpPort)
		}
		if !slices.Contains(s.dependsOn(), "mailpit") {
			t.Errorf("service %s does not depend on mailpit", s.name)
		}
	}
}

func TestComposeAttestdStoreAndRegistry(t *testing.T) {
	c := loadCompose(t)
	drivers := map[string]bool{}
	for _, s := range c.attestdServices(t) {
		cfg := attestdConfig(t, s)
		drivers[cfg.Store.Driver] = true
		switch cfg.Store.Driver {
		case "sqlite":
			if _, ok := s.volumeAt(t, path.Dir(cfg.Store.DSN)); !ok {
				t.Errorf("service %s: the SQLite file %s is on no volume: the database would die with the container", s.name, cfg.Store.DSN)
			}
		case "postgres":
			checkPostgres(t, c, s, cfg.Store.DSN)
		}
		if f := cfg.Registry.ImportOnStart; f != "" {
			file, ok := s.hostPath(t, f)
			if !ok {
				t.Errorf("service %s: registry.import_on_start %s is not mounted from the repository", s.name, f)
			} else if _, err := os.Stat(file); err != nil {
				t.Errorf("service %s: registry.import_on_start: %v", s.name, err)
			}
		}
	}
	if !drivers["sqlite"] || !drivers["postgres"] {
		t.Errorf("store drivers run by the compose file: %v, want sqlite (default) and postgres (profile)", drivers)
	}
}

// checkPostgres checks that a postgres DSN names the postgres service, its
// user and database, and that the password in PGPASSWORD is the service's.
func checkPostgres(t *testing.T, c *composeFile, s *service, dsn string) {
	t.Helper()
	pg := c.service(t, "postgres")
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("service %s: store.dsn: %v", s.name, err)
	}
	if _, hasPassword := u.User.Password(); hasPassword {
		t.Errorf("service %s: store.dsn holds a password: secrets never sit in the file (use PGPASSWORD)", s.name)
	}
	if u.Hostname() != "postgres" || (u.Port() != "" && u.Port() != "5432") {
		t.Errorf("service %s: store.dsn host %s, want postgres:5432", s.name, u.Host)
	}
	if u.User.Username() != pg.Environment["POSTGRES_USER"] || strings.TrimPrefix(u.Path, "/") != pg.Environment["POSTGRES_DB"] {
		t.Errorf("service %s: store.dsn user %q database %q, postgres creates %q %q", s.name,
			u.User.Username(), u.Path, pg.Environment["POSTGRES_USER"], pg.Environment["POSTGRES_DB"])
	}
	if s.Environment["PGPASSWORD"] != pg.Environment["POSTGRES_PASSWORD"] {
		t.Errorf("service %s: PGPASSWORD differs from postgres's POSTGRES_PASSWORD", s.name)
	}
	if !slices.Contains(s.dependsOn(), "postgres") {
		t.Errorf("service %s does not depend on postgres", s.name)
	}
	for _, p := range s.Profiles {
		if !slices.Contains(pg.Profiles, p) {
			t.Errorf("service %s has profile %s, postgres %v: they must start together", s.name, p, pg.Profiles)
		}
	}
	if len(s.Profiles) == 0 {
		t.Errorf("service %s has no profile, postgres %v: they must start together", s.name, pg.Profiles)
	}
}

// TestComposeDovecotIsCIDovecot checks that compose and .ci/servers.sh run
// Dovecot with the same settings and users, and that the user and password
// CI hands to the tests are in that users file.
func TestComposeDovecotIsCIDovecot(t *testing.T) {
	c := loadCompose(t)
	dovecot := c.service(t, "dovecot")
	conf, files := dovecotConf(t, dovecot)
	shared := filepath.Join(repoRoot, "deploy", "dovecot", "attestd.conf")
	if !slices.Contains(files, shared) {
		t.Errorf("dovecot reads %v, not the shared %s", files, shared)
	}
	home := strings.TrimPrefix(conf["userdb/args"], "home=")
	if _, ok := dovecot.volumeAt(t, home); !ok {
		t.Errorf("dovecot keeps mail in %s, on no volume", home)
	}

	script, err := os.ReadFile(filepath.Join(repoRoot, ".ci", "servers.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"deploy/dovecot/attestd.conf", "deploy/dovecot/users"} {
		if !strings.Contains(string(script), f) {
			t.Errorf(".ci/servers.sh does not use %s", f)
		}
	}
	users, err := readPasswd(filepath.Join(repoRoot, "deploy", "dovecot", "users"))
	if err != nil {
		t.Fatal(err)
	}
	exported := func(name string) string {
		m := regexp.MustCompile(`export ` + name + `="([^"]*)"`).FindSubmatch(script)
		if m == nil {
			t.Fatalf(".ci/servers.sh does not export %s", name)
		}
		return string(m[1])
	}
	for _, pair := range [][2]string{
		{"ATTESTD_TEST_IMAP_USER", "ATTESTD_TEST_IMAP_PASSWORD"},
		{"ATTESTD_TEST_IMAP_QA_USER", "ATTESTD_TEST_IMAP_QA_PASSWORD"},
	} {
		user, password := exported(pair[0]), exported(pair[1])
		if users[user] != password || password == "" {
			t.Errorf(".ci/servers.sh exports %s=%s with a password that deploy/dovecot/users does not hold", pair[0], user)
		}
	}
}

// TestComposeMailpitIsCIMailpit checks that compose runs the Mailpit version
// that CI installs.
func TestComposeMailpitIsCIMailpit(t *testing.T) {
	c := loadCompose(t)
	image := c.service(t, "mailpit").Image
	script, err := os.ReadFile(filepath.Join(repoRoot, ".ci", "servers.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ATTESTD_MAILPIT_VERSION=(\S+)$`).FindSubmatch(script)
	if m == nil {
		t.Fatal(".ci/servers.sh does not set ATTESTD_MAILPIT_VERSION")
	}
	if want := "axllent/mailpit:" + string(m[1]); image != want {
		t.Errorf("mailpit image %s, CI installs %s", image, want)
	}
}
