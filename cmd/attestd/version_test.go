package main

import (
	"runtime/debug"
	"testing"
)

func TestDescribeBuild(t *testing.T) {
	vcs := func(rev, modified string) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}}
	}
	for _, tt := range []struct {
		name              string
		bi                *debug.BuildInfo
		version, revision string
		want              buildInfo
	}{
		{"go build in a clone", vcs("2f209dc", "false"), "", "", buildInfo{"devel", "2f209dc", "go1.26.8"}},
		{"uncommitted changes", vcs("2f209dc", "true"), "", "", buildInfo{"devel", "2f209dc+dirty", "go1.26.8"}},
		{"release: -X wins", vcs("2f209dc", "false"), "1.4.0", "abcdef", buildInfo{"1.4.0", "abcdef", "go1.26.8"}},
		{"release without .git", &debug.BuildInfo{GoVersion: "go1.26.8"}, "1.4.0", "", buildInfo{"1.4.0", "unknown", "go1.26.8"}},
		{"go install module@version", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}}, "", "", buildInfo{"v1.4.0", "unknown", "go1.26.8"}},
	} {
		got := describeBuild(tt.bi, tt.version, tt.revision)
		if got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
