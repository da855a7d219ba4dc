package deploy

import (
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The cluster profile (issue 11): three replicas of attestd with one
// configuration on the PostgreSQL of the profile, two mailboxes of the
// compose Dovecot (TestComposeAttestdReachesDovecotAsAKnownUser checks
// their users and passwords), and the registry imported once, before any
// replica starts.
func TestComposeClusterProfile(t *testing.T) {
	c := loadCompose(t)
	var replicas []*service
	for _, s := range c.attestdServices(t) {
		if slices.Contains(s.Profiles, "cluster") {
			replicas = append(replicas, s)
		}
	}
	if len(replicas) != 3 {
		t.Fatalf("the cluster profile runs %d attestd replicas, want 3", len(replicas))
	}
	if pg := c.service(t, "postgres"); !slices.Contains(pg.Profiles, "cluster") {
		t.Errorf("postgres has profiles %v: the cluster profile does not start it", pg.Profiles)
	}
	first, _ := replicas[0].flag("--config")
	firstFile, _ := replicas[0].hostPath(t, first)
	nodes, journals := map[string]bool{}, map[string]bool{}
	for _, s := range replicas {
		cfg := attestdConfig(t, s)
		if cfg.Store.Driver != "postgres" {
			t.Errorf("service %s: store %s, want postgres (the replicas share it)", s.name, cfg.Store.Driver)
		}
		if n := len(cfg.Mailboxes()); n < 2 {
			t.Errorf("service %s watches %d mailbox(es), want 2", s.name, n)
		}
		if cfg.Registry.ImportOnStart != "" {
			t.Errorf("service %s: registry.import_on_start is set: every replica would import at once", s.name)
		}
		path, _ := s.flag("--config")
		if file, _ := s.hostPath(t, path); file != firstFile {
			t.Errorf("service %s runs %s, %s runs %s: the replicas are one configuration", s.name, file, replicas[0].name, firstFile)
		}
		// Each replica its own sent journal file, kept across restarts, and
		// its own node name: the host name is part of outbox.node's default.
		journal := cfg.Outbox.JournalPath()
		vol, named := s.volumeAt(t, journal)
		switch {
		case journal == "":
			t.Errorf("service %s keeps no sent journal file: a replica killed after a final dot would have its reply sent again", s.name)
		case !named:
			t.Errorf("service %s: the sent journal %s is not on a named volume: it would not outlive the container", s.name, journal)
		case journals[vol]:
			t.Errorf("service %s shares the volume %s of its sent journal with another replica", s.name, vol)
		}
		journals[vol] = true
		if s.Hostname == "" || nodes[s.Hostname] {
			t.Errorf("service %s has host name %q: each replica needs one of its own, the same across restarts (outbox.node)", s.name, s.Hostname)
		}
		nodes[s.Hostname] = true
		if cond := dependsOnCondition(s, "attestd-cluster-registry"); cond != "service_completed_successfully" {
			t.Errorf("service %s waits for attestd-cluster-registry with %q, want service_completed_successfully", s.name, cond)
		}
	}

	reg := c.service(t, "attestd-cluster-registry")
	if len(reg.Command) < 2 || reg.Command[0] != "registry" || reg.Command[1] != "import" {
		t.Fatalf("attestd-cluster-registry runs %v, want registry import", reg.Command)
	}
	if path, _ := reg.flag("--config"); path != first {
		t.Errorf("attestd-cluster-registry imports into the store of %s, the replicas run %s", path, first)
	} else if file, ok := reg.hostPath(t, path); !ok || file != firstFile {
		t.Errorf("attestd-cluster-registry mounts %s from %s, the replicas from %s", path, file, firstFile)
	}
	registry := reg.Command[len(reg.Command)-1]
	if _, ok := reg.hostPath(t, registry); !ok || !strings.HasSuffix(registry, ".json") {
		t.Errorf("attestd-cluster-registry imports %s, which is not a registry file mounted from the repository", registry)
	}
	checkPostgres(t, c, reg, attestdConfig(t, reg).Store.DSN)
}

// dependsOnCondition is the condition s waits for dep with (long syntax);
// "" when s does not depend on dep or uses the short syntax.
func dependsOnCondition(s *service, dep string) string {
	if s.DependsOn.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(s.DependsOn.Content); i += 2 {
		if s.DependsOn.Content[i].Value != dep {
			continue
		}
		var opts struct {
			Condition string `yaml:"condition"`
		}
		if s.DependsOn.Content[i+1].Decode(&opts) != nil {
			return ""
		}
		return opts.Condition
	}
	return ""
}
