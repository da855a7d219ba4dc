package deploy

import (
	"os"
	"path/filepath"
	"regexp"
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
