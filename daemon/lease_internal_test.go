package daemon

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"testing"
)

// A lease held by a replica of this machine whose process is gone is
// taken at once; one of another machine, of a live process, or of a
// daemon running in this very process is not.
func TestHolderDead(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no way to tell a process is gone here: leases expire")
	}
	self := replicaID()
	host, pid, ok := holderParts(self)
	if !ok || pid != os.Getpid() {
		t.Fatalf("replicaID %q does not parse", self)
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Skip(err)
	}
	sibling := fmt.Sprintf("%s/%d/0badcafe", host, pid) // this pid, another name
	for _, tc := range []struct {
		holder string
		dead   bool
	}{
		{fmt.Sprintf("%s/%d/aa", host, gone.Process.Pid), true}, // a process that exited
		{sibling, true}, // an earlier incarnation under this pid
		{fmt.Sprintf("%s/%d/aa", host, os.Getppid()), false},      // a live process
		{fmt.Sprintf("elsewhere/%d/aa", gone.Process.Pid), false}, // another machine
		{self, false},
		{"replica-a", false}, // a name that says nothing
	} {
		if got := holderDead(self, tc.holder); got != tc.dead {
			t.Errorf("holderDead(%q) = %v, want %v", tc.holder, got, tc.dead)
		}
	}
	running.Store(sibling, true)
	defer running.Delete(sibling)
	if holderDead(self, sibling) {
		t.Error("a daemon running in this process was taken for dead")
	}
}
