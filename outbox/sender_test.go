package outbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/cpam/attestd/internal/testkit"
	"github.com/cpam/attestd/outbox"
)

func newSender(t testing.TB, cfg outbox.SMTPConfig) *outbox.Sender {
	t.Helper()
	s := outbox.NewSender(cfg)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func composed(t testing.TB, i int) []byte {
	t.Helper()
	r := sampleReply()
	r.ID = fmt.Sprintf("ATT-%04d", i)
	r.Attachment.Data = fakePDF(4 << 10)
	raw, _, err := outbox.Compose(r)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestSendTenMessagesOverOneConnection(t *testing.T) {
	relay := testkit.SMTP(t)
	s := newSender(t, outbox.SMTPConfig{Address: relay.Addr()})
	ctx := testCtx(t)
	var sent [][]byte
	for i := range 10 {
		raw := composed(t, i)
		if err := s.Send(ctx, "attestation@cpam.example", []string{"eva.martin@example.org"}, raw); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
		sent = append(sent, raw)
	}
	got, err := relay.Wait(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range got {
		if m.From != "attestation@cpam.example" || len(m.To) != 1 || m.To[0] != "eva.martin@example.org" {
			t.Errorf("message %d envelope %q -> %q", i, m.From, m.To)
		}
		if !bytes.Equal(m.Raw, sent[i]) {
			t.Errorf("message %d arrived altered (%d bytes sent, %d received)", i, len(sent[i]), len(m.Raw))
		}
	}
	if n := relay.Connections(); n != 1 {
		t.Errorf("%d connections for 10 messages, want 1", n)
	}
}

func TestSendReconnectsAfterRelayRestart(t *testing.T) {
	relay := testkit.SMTP(t)
	s := newSender(t, outbox.SMTPConfig{Address: relay.Addr()})
	ctx := testCtx(t)
	if err := s.Send(ctx, "a@cpam.example", []string{"b@example.org"}, composed(t, 1)); err != nil {
		t.Fatal(err)
	}
	if err := relay.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := relay.Start(); err != nil {
		t.Fatal(err)
	}
	// The kept connection is dead; Send must notice and reconnect by itself.
	if err := s.Send(ctx, "a@cpam.example", []string{"b@example.org"}, composed(t, 2)); err != nil {
		t.Fatalf("Send after the relay restarted: %v", err)
	}
	if _, err := relay.Wait(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if n := relay.Connections(); n != 2 {
		t.Errorf("%d connections, want 2 (one before, one after the restart)", n)
	}
}

func TestSendIdleConnectionIsCheckedFirst(t *testing.T) {
	relay := testkit.SMTP(t)
	s := newSender(t, outbox.SMTPConfig{Address: relay.Addr(), IdleCheck: time.Nanosecond})
	ctx := testCtx(t)
	for i := range 3 {
		if err := s.Send(ctx, "a@cpam.example", []string{"b@example.org"}, composed(t, i)); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	relay.Stop()
	relay.Start()
	if err := s.Send(ctx, "a@cpam.example", []string{"b@example.org"}, composed(t, 9)); err != nil {
		t.Fatalf("Send after a restart with NOOP checks: %v", err)
	}
	if n := relay.Connections(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

func TestSendTemporaryRefusal(t *testing.T) {
	relay := testkit.SMTP(t)
	relay.SetFault(func(string, []string) error {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	})
	s := newSender(t, outbox.SMTPConfig{Address: relay.Addr()})
	ctx := testCtx(t)
	err := s.Send(ctx, "a@cpam.example", []string{"b@example.org"}, composed(t, 1))
	var se *outbox.SendError
	if !errors.As(err, &se) {
		t.Fatalf("Send = %v, want a *SendError", err)
	}
	if !outbox.IsTemporary(err) || !se.Temporary || se.Code != 451 || se.Enhanced != "4.3.0" || se.Msg != "Try again later" {
		t.Errorf("got %+v: want temporary 451 4.3.0", se)
	}
	relay.SetFault(nil)
	if err := s.Send(ctx, "a@cpam.example", []string{"b@example.org"}, composed(t, 1)); err != nil {
		t.Fatalf("Send once the relay accepts again: %v", err)
	}
	if n := len(relay.Messages()); n != 1 {
		t.Errorf("relay kept %d messages, want only the accepted one", n)
	}
	if n := relay.Connections(); n != 1 {
		t.Errorf("%d connections: a refused message should not cost the connection", n)
	}
}

func TestSendPermanentRefusal(t *testing.T) {
	relay := testkit.SMTP(t)
	relay.SetFault(func(from string, to []string) error {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user " + to[0]}
	})
	s := newSender(t, outbox.SMTPConfig{Address: relay.Addr()})
	err := s.Send(testCtx(t), "a@cpam.example", []string{"nobody@example.org"}, composed(t, 1))
	var se *outbox.SendError
	if !errors.As(err, &se) {
		t.Fatalf("Send = %v, want a *SendError", err)
	}
	if outbox.IsTemporary(err) || se.Code != 550 || se.Enhanced != "5.1.1" {
		t.Errorf("got %+v: want permanent 550 5.1.1", se)
	}
}

func TestSendConnectionRefusedIsTemporary(t *testing.T) {
	relay := testkit.SMTP(t)
	addr := relay.Addr()
	relay.Stop()
	s := newSender(t, outbox.SMTPConfig{Address: addr})
	err := s.Send(testCtx(t), "a@cpam.example", []string{"b@example.org"}, composed(t, 1))
	var se *outbox.SendError
	if !errors.As(err, &se) || !se.Temporary || se.Code != 0 || se.Stage != "dial" {
		t.Fatalf("Send to a stopped relay = %#v, want a temporary dial error", err)
	}
	relay.Start()
	if err := s.Send(testCtx(t), "a@cpam.example", []string{"b@example.org"}, composed(t, 1)); err != nil {
		t.Fatalf("Send once the relay is back: %v", err)
	}
}

func TestSendStopsWithTheContext(t *testing.T) {
	relay := testkit.SMTP(t)
	s := newSender(t, outbox.SMTPConfig{Address: relay.Addr()})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Send(ctx, "a@cpam.example", []string{"b@example.org"}, composed(t, 1))
	if !outbox.IsTemporary(err) || !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a cancelled context = %v, want temporary and context.Canceled", err)
	}
}

func TestSendUsesTheDialSeam(t *testing.T) {
	relay := testkit.SMTP(t)
	dials := 0
	s := newSender(t, outbox.SMTPConfig{
		Address: "relay.invalid:25",
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			dials++
			var d net.Dialer
			return d.DialContext(ctx, network, relay.Addr())
		},
	})
	if err := s.Send(testCtx(t), "a@cpam.example", []string{"b@example.org"}, composed(t, 1)); err != nil {
		t.Fatal(err)
	}
	if dials != 1 {
		t.Errorf("%d dials through the seam, want 1", dials)
	}
}

func TestSendConcurrentCallersShareTheConnection(t *testing.T) {
	relay := testkit.SMTP(t)
	s := newSender(t, outbox.SMTPConfig{Address: relay.Addr()})
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				errs <- s.Send(ctx, "a@cpam.example", []string{fmt.Sprintf("u%d-%d@example.org", g, i)}, composed(t, g*10+i))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := len(relay.Messages()); got != 40 {
		t.Errorf("relay received %d messages, want 40", got)
	}
	if n := relay.Connections(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

func TestSendRefusesNothingToSend(t *testing.T) {
	s := newSender(t, outbox.SMTPConfig{Address: "127.0.0.1:1"})
	err := s.Send(testCtx(t), "a@cpam.example", nil, []byte("x"))
	if err == nil || outbox.IsTemporary(err) {
		t.Errorf("Send without recipient = %v, want a permanent error", err)
	}
	err = s.Send(testCtx(t), "a@cpam.example", []string{"b\r\nRCPT TO:<c@x>"}, []byte("x"))
	if err == nil || outbox.IsTemporary(err) {
		t.Errorf("Send with CRLF in an address = %v, want a permanent error", err)
	}
}

func TestSendAfterCloseIsTemporary(t *testing.T) {
	relay := testkit.SMTP(t)
	s := outbox.NewSender(outbox.SMTPConfig{Address: relay.Addr()})
	if err := s.Send(testCtx(t), "a@cpam.example", []string{"b@example.org"}, composed(t, 1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Send(testCtx(t), "a@cpam.example", []string{"b@example.org"}, composed(t, 2)); !outbox.IsTemporary(err) {
		t.Errorf("Send after Close = %v, want a temporary error", err)
	}
}
