package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDockerfileBuildsTheREADMEBinary checks that the image is built as the
// README builds attestd (go build ./cmd/attestd, static: CGO_ENABLED=0),
// with the Go release go.mod asks for, and runs it as a non-root user.
// (`CGO_ENABLED=0 go build ./cmd/attestd` itself is what .ci/run checks.)
func TestDockerfileBuildsTheREADMEBinary(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(repoRoot, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	dockerfile := strings.ReplaceAll(read("Dockerfile"), "\\\n", " ")
	readme := read("README.md")
	gomod := read("go.mod")

	if !strings.Contains(readme, "go build ./cmd/attestd") {
		t.Error("README.md does not say how to build attestd (go build ./cmd/attestd)")
	}
	build := regexp.MustCompile(`(?m)^RUN .*CGO_ENABLED=0 go build .*-o (\S+) \./cmd/attestd\b`).FindStringSubmatch(dockerfile)
	if build == nil {
		t.Fatal("Dockerfile: no RUN CGO_ENABLED=0 go build ... -o FILE ./cmd/attestd: the image must hold the README's binary, static")
	}
	if !regexp.MustCompile(`(?m)^COPY --from=\S+ ` + regexp.QuoteMeta(build[1]) + ` (\S+)$`).MatchString(dockerfile) {
		t.Errorf("Dockerfile: the final image does not copy %s, the binary built", build[1])
	}

	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(gomod)
	from := regexp.MustCompile(`(?m)^FROM golang:(\d+\.\d+)\S* AS`).FindStringSubmatch(dockerfile)
	if goVersion == nil || from == nil || goVersion[1] != from[1] {
		t.Errorf("Dockerfile builds with golang:%v, go.mod asks for go %v", from, goVersion)
	}

	users := regexp.MustCompile(`(?m)^USER (\S+)`).FindAllStringSubmatch(dockerfile, -1)
	if len(users) == 0 {
		t.Fatal("Dockerfile: no USER: the image would run as root")
	}
	if u := users[len(users)-1][1]; u == "0" || strings.HasPrefix(u, "0:") || strings.HasPrefix(u, "root") {
		t.Errorf("Dockerfile: runs as USER %s, want a non-root user", u)
	}
}

// TestDockerfileHealthcheck checks that the image's HEALTHCHECK runs
// `attestd healthcheck` (the image has no shell nor curl) on the
// configuration the image runs with, and that every compose service's
// configuration serves the health endpoint it asks.
func TestDockerfileHealthcheck(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	dockerfile := strings.ReplaceAll(string(b), "\\\n", " ")
	hc := regexp.MustCompile(`(?m)^HEALTHCHECK .*CMD (\[.*\])\s*$`).FindStringSubmatch(dockerfile)
	cmd := regexp.MustCompile(`(?m)^CMD (\[.*\])\s*$`).FindStringSubmatch(dockerfile)
	if hc == nil || cmd == nil {
		t.Fatal("Dockerfile: no HEALTHCHECK ... CMD [...] (exec form) or no CMD [...]")
	}
	var check, run []string
	if err := json.Unmarshal([]byte(hc[1]), &check); err != nil {
		t.Fatalf("HEALTHCHECK CMD: %v", err)
	}
	if err := json.Unmarshal([]byte(cmd[1]), &run); err != nil {
		t.Fatalf("CMD: %v", err)
	}
	want := append([]string{"/attestd", "healthcheck"}, run[len(run)-2:]...) // --config FILE
	if !slices.Equal(check, want) || run[len(run)-2] != "--config" {
		t.Errorf("HEALTHCHECK CMD %v, want %v: the health check must read the configuration the image runs", check, want)
	}
	for _, s := range loadCompose(t).attestdServices(t) {
		if cfgPath, _ := s.flag("--config"); cfgPath != run[len(run)-1] {
			t.Errorf("service %s runs with --config %s; the image's HEALTHCHECK reads %s", s.name, cfgPath, run[len(run)-1])
		}
		if cfg := attestdConfig(t, s); cfg.Metrics.Address == "" {
			t.Errorf("service %s: no metrics.address: the image's HEALTHCHECK would always fail", s.name)
		}
	}
}
