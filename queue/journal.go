package queue

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// compactAfter is how many records the sent journal takes before it is
// rewritten with only its live entries.
const compactAfter = 1000

// journal is the local, append-only record of the replies handed to
// the relay (outbox.journal), which closes the window in which a crash
// sends a reply twice.
//
// SMTP cannot be asked afterwards whether the relay took a message, and
// the store learns it only when MarkSent commits, milliseconds after the
// relay's 250. The journal is written in the instant the final dot of the
// message has been written to the relay, before its answer is read
// (outbox.Sender.SendWithHook; on Linux the dot is held with TCP_CORK
// until the note is written, so nothing is scheduled in between): one
// small write(2) on an O_APPEND file, no fsync. The kernel keeps that
// write when the process is killed; at the next start, every reply the
// journal names is recorded as sent and never sent again. What is left:
//
//   - a kill between the write of the dot and the journal's write, two
//     system calls apart, sends the reply again at the next start: the only
//     duplicate window left;
//   - a relay that refuses the message after the dot (4xx, 5xx, cut) has
//     its entry cancelled by an "u" record; a kill just between that answer
//     and the cancel records the reply as sent though refused (it shows as
//     sent in `attestd outbox list`);
//   - a machine crash (power loss) may lose the unsynced write: the reply is
//     then sent again, at least once as without the journal.
//
// Records are lines "s ID" (handed over), "u ID" (refused after all) and
// "r ID" (recorded by the store: the entry is dead); the last one for an
// ID wins. The journal is rewritten with only its live entries at start
// and every compactAfter records.
type journal struct {
	path string

	// fmu guards f: records are written under its read lock (O_APPEND
	// writes of a few bytes do not interleave), compaction swaps the file
	// under its write lock.
	fmu sync.RWMutex
	f   *os.File

	mu      sync.Mutex     // guards live and records
	live    map[int64]bool // handed over, not yet recorded by the store
	records int            // records in the file
}

// openJournal opens (or creates) the journal at path and returns it with
// the IDs it names as handed over and not cancelled: the replies a
// previous run gave the relay but may not have recorded.
func openJournal(path string) (*journal, []int64, error) {
	live, err := readJournal(path)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("outbox.journal: open %s: %w (check the directory exists and is writable)", path, err)
	}
	j := &journal{path: path, f: f, live: map[int64]bool{}}
	ids := make([]int64, 0, len(live))
	for id := range live {
		j.live[id] = true
		ids = append(ids, id)
	}
	return j, ids, nil
}

// readJournal returns the live entries of the journal at path; a missing
// file has none. A line it cannot read (a machine crash may tear the last
// one) is skipped.
func readJournal(path string) (map[int64]bool, error) {
	live := map[int64]bool{}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return live, nil
	}
	if err != nil {
		return nil, fmt.Errorf("outbox.journal: read %s: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		op, num, _ := strings.Cut(sc.Text(), " ")
		id, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			continue
		}
		switch op {
		case "s":
			live[id] = true
		case "u", "r":
			delete(live, id)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("outbox.journal: read %s: %w", path, err)
	}
	return live, nil
}

// prepare readies the note "reply id handed over" for the instant the
// final dot is out: the returned note writes one preformatted record with
// one write(2), taking no lock and allocating nothing, so that nothing
// (another goroutine, the garbage collector's assists) delays it. done
// must be called once the send is over: it says whether the note was
// written, and keeps the journal's file in place until then.
func (j *journal) prepare(id int64) (note func(), done func() (bool, error)) {
	j.fmu.RLock()
	rec := []byte("s " + strconv.FormatInt(id, 10) + "\n")
	var (
		written bool
		werr    error
	)
	f := j.f
	note = func() {
		if f == nil {
			werr = errors.New("closed")
			return
		}
		werr = writeRecord(f, rec)
		written = werr == nil
	}
	done = func() (bool, error) {
		j.fmu.RUnlock()
		if written {
			j.mu.Lock()
			j.live[id] = true
			j.records++
			j.mu.Unlock()
		}
		if werr != nil {
			return false, fmt.Errorf("outbox.journal: write %s: %w", j.path, werr)
		}
		return written, nil
	}
	return note, done
}

// handed records that reply id was handed to the relay.
func (j *journal) handed(id int64) error {
	note, done := j.prepare(id)
	note()
	_, err := done()
	return err
}

// refused cancels handed: the relay did not take reply id after all, it
// may be sent again.
func (j *journal) refused(id int64) error { return j.forget(id, "u") }

// forget writes a record op that ends the entry of reply id.
func (j *journal) forget(id int64, op string) error {
	j.mu.Lock()
	delete(j.live, id)
	j.records++
	j.mu.Unlock()
	j.fmu.RLock()
	defer j.fmu.RUnlock()
	if j.f == nil {
		return errors.New("outbox.journal: closed")
	}
	if err := writeRecord(j.f, []byte(op+" "+strconv.FormatInt(id, 10)+"\n")); err != nil {
		return fmt.Errorf("outbox.journal: write %s: %w", j.path, err)
	}
	return nil
}

// recorded notes that the store has recorded reply id: its entry is dead.
// The journal is compacted when it has grown past compactAfter records.
func (j *journal) recorded(id int64) error {
	if err := j.forget(id, "r"); err != nil {
		return err
	}
	j.mu.Lock()
	full := j.records >= compactAfter
	j.mu.Unlock()
	if !full {
		return nil
	}
	return j.compact()
}

// compact rewrites the journal with only its live entries.
// It writes them to a new file and renames it over the journal (atomic
// for a process kill), then appends to the new file.
func (j *journal) compact() error {
	j.fmu.Lock()
	defer j.fmu.Unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return errors.New("outbox.journal: closed")
	}
	var b strings.Builder
	for id := range j.live {
		b.WriteString("s " + strconv.FormatInt(id, 10) + "\n")
	}
	tmp := j.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("outbox.journal: compact %s: %w", j.path, err)
	}
	if err := os.Rename(tmp, j.path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("outbox.journal: compact %s: %w", j.path, err)
	}
	f, err := os.OpenFile(j.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("outbox.journal: reopen %s after compaction: %w", j.path, err)
	}
	_ = j.f.Close()
	j.f, j.records = f, len(j.live)
	return nil
}

func (j *journal) noted(_ context.Context, id int64) (bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.live[id], nil
}

// left returns the live entries: before the first send, those a previous
// run left.
func (j *journal) left(context.Context) ([]int64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	ids := make([]int64, 0, len(j.live))
	for id := range j.live {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// Close closes the journal file.
func (j *journal) Close() error {
	j.fmu.Lock()
	defer j.fmu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}
