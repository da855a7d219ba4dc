package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cpam/attestd/store"
)

// The mailbox leases' timing (issue 11, docs/operations.md "Several
// replicas"). A holder renews its lease every leaseRenew; the lease runs
// leaseTTL from its last renewal, by the database's clock. A holder that
// could not renew for leaseTTL-leaseRenew (measured from before its last
// successful renewal was sent) stops its sessions: at least leaseRenew
// before the database lets another replica take the lease. The others try
// again when the lease would expire (the database says when), so a dead
// holder's mailbox is taken over about leaseTTL after its last renewal.
const (
	leaseTTL   = 3 * time.Second
	leaseRenew = time.Second
)

// replicaID names this process as a lease holder: host/pid/random. The
// host and pid let a restarted replica on the same machine see that the
// holder it replaces is gone (holderDead); the random part tells two
// incarnations with the same pid (pid 1 in a container) apart.
func replicaID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", strings.ReplaceAll(host, "/", "_"), os.Getpid(), hex.EncodeToString(b[:]))
}

// running are the replica names of the daemons running in this process
// (Run): several may share a pid (tests, benchmarks).
var running sync.Map

// holderDead reports whether holder is a replica of this machine whose
// process is gone: a pid that no longer runs, or this very pid (pid 1 in
// a container) under a name no daemon of this process runs.
func holderDead(self, holder string) bool {
	host, pid, ok := holderParts(holder)
	myHost, myPid, _ := holderParts(self)
	if !ok || host != myHost || holder == self {
		return false
	}
	if pid == myPid {
		_, here := running.Load(holder)
		return !here
	}
	return !processAlive(pid)
}

func holderParts(id string) (host string, pid int, ok bool) {
	rest, _, ok := cutLast(id, "/")
	if !ok {
		return "", 0, false
	}
	host, p, ok := cutLast(rest, "/")
	if !ok {
		return "", 0, false
	}
	pid, err := strconv.Atoi(p)
	return host, pid, err == nil && pid > 0
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// acquire waits until this replica holds the lease of b's mailbox, trying
// again when the current lease would expire (at most every leaseRenew).
// It returns the lease and when the acquisition was sent (the start of its
// validity for the self-fence), or nil once ctx is done.
func (b *intake) acquire(ctx context.Context) (*store.Lease, time.Time) {
	waiting := false
	for {
		start := time.Now()
		l, held, err := b.d.leases.AcquireLease(ctx, b.box.Name, b.d.replica, b.d.leaseTTL)
		if err == nil && l == nil && holderDead(b.d.replica, held.Holder) {
			b.d.log.Info("mailbox lease held by a replica of this machine that is gone: taken over at once",
				"mailbox", b.box.Name, "holder", held.Holder)
			l, held, err = b.d.leases.TakeLease(ctx, b.box.Name, b.d.replica, held.Holder, b.d.leaseTTL)
		}
		switch {
		case err != nil && ctx.Err() == nil:
			b.d.log.Warn("mailbox lease: cannot reach the store, trying again", "mailbox", b.box.Name, "err", err)
			held.Left = b.d.leaseRenew
		case l != nil:
			return l, start
		case !waiting:
			b.d.obs.MailboxHeld(b.box.Name, false)
			b.d.log.Info("mailbox watched by another replica; this one takes over if its lease lapses",
				"mailbox", b.box.Name, "holder", held.Holder)
			waiting = true
		}
		// Just after the lease would expire, or every leaseRenew.
		if !sleep(ctx, min(held.Left+5*time.Millisecond, b.d.leaseRenew)) {
			return nil, time.Time{}
		}
	}
}

// keep renews l every leaseRenew until stop is closed, and calls lost when
// the lease is lost or could not be renewed in time: the caller's sessions
// stop (self-fence) before another replica can take the lease. since is
// when the acquisition was sent.
func (b *intake) keep(stop <-chan struct{}, l store.Lease, since time.Time, lost func()) {
	renewed := make(chan time.Time, 1)
	gone := make(chan error, 1)
	go b.renew(stop, l, renewed, gone)
	margin := b.d.leaseTTL - b.d.leaseRenew
	fence := time.NewTimer(time.Until(since.Add(margin)))
	defer fence.Stop()
	for {
		select {
		case <-stop:
			return
		case t := <-renewed:
			fence.Reset(time.Until(t.Add(margin)))
		case err := <-gone:
			b.d.log.Warn("mailbox lease lost: its sessions stop", "mailbox", l.Mailbox, "epoch", l.Epoch, "err", err)
			lost()
			return
		case <-fence.C:
			b.d.log.Warn("mailbox lease not renewed in time: its sessions stop before another replica may take it",
				"mailbox", l.Mailbox, "epoch", l.Epoch, "ttl", b.d.leaseTTL.String())
			lost()
			return
		}
	}
}

// renew renews l every leaseRenew until stop is closed, telling renewed
// when each successful renewal was sent, and gone when the lease is lost.
func (b *intake) renew(stop <-chan struct{}, l store.Lease, renewed chan time.Time, gone chan<- error) {
	t := time.NewTicker(b.d.leaseRenew)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), b.d.leaseTTL)
		err := b.d.leases.RenewLease(ctx, l, b.d.leaseTTL)
		cancel()
		switch {
		case err == nil:
			select {
			case <-renewed: // keep only the latest
			default:
			}
			renewed <- start
		case errors.Is(err, store.ErrLeaseLost):
			gone <- err
			return
		default:
			b.d.log.Warn("mailbox lease: renewal failed, trying again", "mailbox", l.Mailbox, "err", err)
		}
	}
}

// release gives the lease up on a graceful stop, so that another replica
// takes the mailbox at once rather than after the TTL.
func (b *intake) release(l store.Lease) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.d.leases.ReleaseLease(ctx, l); err != nil {
		b.d.log.Warn("mailbox lease not released: another replica takes the mailbox when it expires", "mailbox", l.Mailbox, "err", err)
		return
	}
	b.d.log.Info("mailbox lease released", "mailbox", l.Mailbox, "epoch", l.Epoch)
}
