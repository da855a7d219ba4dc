package queue

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/cpam/attestd/store"
)

// handover is where the queue notes the replies handed to the relay and
// not yet recorded as sent: the file journal of one process (journal) or
// the database's sent_handover, which every replica of a cluster reads
// (dbJournal).
type handover interface {
	// prepare readies the note of reply id for the instant the final dot
	// is out; done, once the send is over, says whether it was written.
	prepare(id int64) (note func(), done func() (bool, error))
	// refused cancels the note: the relay did not take the reply.
	refused(id int64) error
	// recorded: the store has recorded the reply sent.
	recorded(id int64) error
	// noted reports whether reply id is noted as handed over and not
	// recorded: it must be recorded, never sent again.
	noted(ctx context.Context, id int64) (bool, error)
	// left returns the replies noted and not recorded: what Recover records.
	left(ctx context.Context) ([]int64, error)
	compact() error
	Close() error
}

var (
	_ handover = (*journal)(nil)
	_ handover = (*dbJournal)(nil)
)

// dbJournal is the sent journal in the database (outbox.journal
// "database", PostgreSQL's default): the note is a row of sent_handover,
// inserted and committed in the instant between the final dot and the
// relay's answer, deleted with a refusal or in MarkSent's transaction. A
// replica killed in between leaves the row, and whichever process sends
// the reply next finds it and records the reply instead of sending it.
//
// The note costs a round trip and a commit (with the WAL flush), during
// which the dot waits corked in the socket: the duplicate window (a kill
// after the dot is written and before the note commits) is that long,
// where the file journal's is two system calls.
type dbJournal struct {
	st     store.Handover
	holder string
	now    func() time.Time
	// timeout bounds the note, written while the relay waits for the dot.
	timeout time.Duration
}

func newDBJournal(st store.Handover, now func() time.Time) *dbJournal {
	host, _ := os.Hostname()
	return &dbJournal{st: st, holder: host + ":" + strconv.Itoa(os.Getpid()), now: now, timeout: 5 * time.Second}
}

func (j *dbJournal) prepare(id int64) (note func(), done func() (bool, error)) {
	var (
		written bool
		werr    error
	)
	note = func() {
		ctx, cancel := context.WithTimeout(context.Background(), j.timeout)
		defer cancel()
		werr = j.st.NoteHandover(ctx, id, j.holder, j.now())
		written = werr == nil
	}
	done = func() (bool, error) {
		if werr != nil {
			return false, fmt.Errorf("outbox.journal (database): %w", werr)
		}
		return written, nil
	}
	return note, done
}

func (j *dbJournal) refused(id int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), j.timeout)
	defer cancel()
	return j.st.ForgetHandover(ctx, id)
}

// recorded has nothing to do: MarkSent deleted the note in its transaction.
func (j *dbJournal) recorded(int64) error { return nil }

func (j *dbJournal) noted(ctx context.Context, id int64) (bool, error) {
	return j.st.HandedOver(ctx, id)
}

func (j *dbJournal) left(ctx context.Context) ([]int64, error) { return j.st.Handovers(ctx) }

func (j *dbJournal) compact() error { return nil }

func (j *dbJournal) Close() error { return nil }

// bothJournal is the file journal of this node with the database's note
// beside it (outbox.journal a file, on PostgreSQL): the file is written
// first, one write(2) after the final dot, and closes the duplicate window
// for this node's restart; the database note, a round trip later, lets
// another replica record the reply without waiting for this node to come
// back (see store.TakeSend).
type bothJournal struct {
	file *journal
	db   *dbJournal
}

var _ handover = (*bothJournal)(nil)

func (j *bothJournal) prepare(id int64) (note func(), done func() (bool, error)) {
	fnote, fdone := j.file.prepare(id)
	dnote, ddone := j.db.prepare(id)
	note = func() { fnote(); dnote() }
	done = func() (bool, error) {
		fh, ferr := fdone()
		dh, derr := ddone()
		return fh || dh, errors.Join(ferr, derr)
	}
	return note, done
}

func (j *bothJournal) refused(id int64) error {
	return errors.Join(j.file.refused(id), j.db.refused(id))
}

func (j *bothJournal) recorded(id int64) error { return j.file.recorded(id) }

func (j *bothJournal) noted(ctx context.Context, id int64) (bool, error) {
	if ok, _ := j.file.noted(ctx, id); ok {
		return true, nil
	}
	return j.db.noted(ctx, id)
}

func (j *bothJournal) left(ctx context.Context) ([]int64, error) {
	ids, _ := j.file.left(ctx)
	more, err := j.db.left(ctx)
	ids = append(ids, more...)
	slices.Sort(ids)
	return slices.Compact(ids), err
}

func (j *bothJournal) compact() error { return j.file.compact() }

func (j *bothJournal) Close() error { return j.file.Close() }
