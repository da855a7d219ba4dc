package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
)

// Set by release builds, which may have no VCS data (a source tarball, a
// Docker build context without .git):
//
//	go build -ldflags "-X main.version=1.4.0 -X main.revision=$(git rev-parse HEAD)" ./cmd/attestd
var (
	version  string
	revision string
)

// buildInfo says what attestd was built from.
type buildInfo struct {
	Version   string // -X main.version, else the module version, else "devel"
	Revision  string // -X main.revision, else vcs.revision ("+dirty" when modified), else "unknown"
	GoVersion string
}

// readBuildInfo reads the stamps of this binary.
func readBuildInfo() buildInfo {
	bi, _ := debug.ReadBuildInfo()
	return describeBuild(bi, version, revision)
}

// describeBuild combines the linker's stamps with the Go toolchain's (bi
// may be nil).
func describeBuild(bi *debug.BuildInfo, version, revision string) buildInfo {
	b := buildInfo{Version: version, Revision: revision, GoVersion: runtime.Version()}
	if bi != nil {
		if v := bi.Main.Version; b.Version == "" && v != "" && v != "(devel)" {
			b.Version = v
		}
		vcsRev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				vcsRev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if b.Revision == "" && vcsRev != "" {
			b.Revision = vcsRev
			if dirty {
				b.Revision += "+dirty"
			}
		}
		if bi.GoVersion != "" {
			b.GoVersion = bi.GoVersion
		}
	}
	if b.Version == "" {
		b.Version = "devel"
	}
	if b.Revision == "" {
		b.Revision = "unknown"
	}
	return b
}

func (b buildInfo) String() string {
	return fmt.Sprintf("attestd %s (revision %s, %s)", b.Version, b.Revision, b.GoVersion)
}

func printVersion(w io.Writer) { fmt.Fprintln(w, readBuildInfo()) }

func cmdVersion(c *command, args []string) error {
	fs := c.flags()
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	printVersion(os.Stdout)
	return nil
}
