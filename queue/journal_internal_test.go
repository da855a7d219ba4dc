package queue

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func liveAfterReopen(t *testing.T, path string) []int64 {
	t.Helper()
	j, ids, err := openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

// What a restart reads back: handed replies, less those refused after all
// and those the store has recorded.
func TestJournalSurvivesAReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "attestd.db.sent")
	j, ids, err := openJournal(path)
	if err != nil || len(ids) != 0 {
		t.Fatalf("new journal: %v, %v", ids, err)
	}
	for _, id := range []int64{1, 2, 3, 4} {
		if err := j.handed(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.refused(2); err != nil {
		t.Fatal(err)
	}
	if err := j.recorded(3); err != nil {
		t.Fatal(err)
	}
	// No Close: a killed process does not close its files.
	if got := liveAfterReopen(t, path); !slices.Equal(got, []int64{1, 4}) {
		t.Errorf("after a kill the journal names %v, want [1 4]", got)
	}
	if err := j.compact(); err != nil {
		t.Fatal(err)
	}
	if got := liveAfterReopen(t, path); !slices.Equal(got, []int64{1, 4}) {
		t.Errorf("after compaction the journal names %v, want [1 4]", got)
	}
	if err := j.handed(5); err != nil {
		t.Fatalf("handed after compaction: %v", err)
	}
	if got := liveAfterReopen(t, path); !slices.Equal(got, []int64{1, 4, 5}) {
		t.Errorf("a record written after compaction: the journal names %v, want [1 4 5]", got)
	}
}

// The journal does not grow for ever: past compactAfter records, recording
// a reply rewrites it with the live entries only.
func TestJournalCompactsAsItGrows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.sent")
	j, _, err := openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if err := j.handed(0); err != nil { // never recorded: stays
		t.Fatal(err)
	}
	for id := int64(1); id <= 3*compactAfter; id++ {
		if err := j.handed(id); err != nil {
			t.Fatal(err)
		}
		if err := j.recorded(id); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > int64(compactAfter*12) {
		t.Errorf("journal is %d bytes after %d replies: not compacted", fi.Size(), 3*compactAfter)
	}
	if got := liveAfterReopen(t, path); !slices.Equal(got, []int64{0}) {
		t.Errorf("journal names %v, want [0]", got)
	}
}

// A torn last line (a machine crash) is skipped, not fatal.
func TestJournalSkipsATornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.sent")
	if err := os.WriteFile(path, []byte("s 7\nu 7\ns 9\ns 1"+"\x00\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := liveAfterReopen(t, path); !slices.Equal(got, []int64{9}) {
		t.Errorf("journal names %v, want [9]", got)
	}
}
