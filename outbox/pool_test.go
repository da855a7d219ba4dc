package outbox_test

import (
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/cpam/attestd/internal/testkit"
	"github.com/cpam/attestd/outbox"
)

func newPool(t testing.TB, cfg outbox.SMTPConfig, n int) *outbox.Pool {
	t.Helper()
	p := outbox.NewPool(cfg, n)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// The relay holds each message at the end of its data until three are
// there at once: only three connections carrying a message each get past.
func TestPoolSendsOverSeveralConnectionsAtOnce(t *testing.T) {
	relay := testkit.SMTP(t)
	const n = 3
	var (
		mu      sync.Mutex
		arrived int
		all     = make(chan struct{})
	)
	relay.SetFault(func(string, []string) error {
		mu.Lock()
		if arrived++; arrived == n {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
			return nil
		case <-time.After(10 * time.Second):
			return &smtp.SMTPError{Code: 451, Message: "the other messages never came at the same time"}
		}
	})
	p := newPool(t, outbox.SMTPConfig{Address: relay.Addr()}, n)
	ctx := testCtx(t)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- p.Send(ctx, "attestation@cpam.example", []string{"eva.martin@example.org"}, composed(t, i))
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := len(relay.Messages()); got != n {
		t.Errorf("%d messages received, want %d", got, n)
	}
	if c := relay.Connections(); c != n {
		t.Errorf("%d connections, want %d", c, n)
	}
}

// Replies one after the other keep to one connection: the others open
// only when replies overlap.
func TestPoolReusesOneConnectionForATrickle(t *testing.T) {
	relay := testkit.SMTP(t)
	p := newPool(t, outbox.SMTPConfig{Address: relay.Addr()}, 4)
	ctx := testCtx(t)
	for i := range 5 {
		if err := p.Send(ctx, "attestation@cpam.example", []string{"eva.martin@example.org"}, composed(t, i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(relay.Messages()); got != 5 {
		t.Errorf("%d messages received, want 5", got)
	}
	if c := relay.Connections(); c != 1 {
		t.Errorf("%d connections for 5 replies one after the other, want 1", c)
	}
}

// A closed pool refuses as a temporary failure: the outbox keeps the reply.
func TestPoolClosedRefusesAsTemporary(t *testing.T) {
	relay := testkit.SMTP(t)
	p := outbox.NewPool(outbox.SMTPConfig{Address: relay.Addr()}, 2)
	ctx := testCtx(t)
	if err := p.Send(ctx, "attestation@cpam.example", []string{"eva.martin@example.org"}, composed(t, 1)); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	err := p.Send(ctx, "attestation@cpam.example", []string{"eva.martin@example.org"}, composed(t, 2))
	if err == nil || !outbox.IsTemporary(err) {
		t.Fatalf("Send on a closed pool: %v, want a temporary failure", err)
	}
}
