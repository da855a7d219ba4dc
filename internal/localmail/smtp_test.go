package localmail_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/cpam/attestd/internal/localmail"
	"github.com/cpam/attestd/internal/testkit"
)

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func sendMail(addr, from, to, body string) error {
	msg := "From: <" + from + ">\r\nTo: <" + to + ">\r\nSubject: test\r\n\r\n" + body + "\r\n"
	c, err := smtp.Dial(addr) // plain text: the server offers no STARTTLS
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail(from, []string{to}, strings.NewReader(msg)); err != nil {
		return err
	}
	return c.Quit()
}

func TestSMTPKeepsWhatItAccepts(t *testing.T) {
	s := testkit.SMTP(t)
	ctx := ctxFor(t)
	sub := s.Subscribe(ctx)
	if err := sendMail(s.Addr(), "attestation@cpam.example", "eva@example.org", "un"); err != nil {
		t.Fatal(err)
	}
	if err := sendMail(s.Addr(), "attestation@cpam.example", "lea@example.org", "deux"); err != nil {
		t.Fatal(err)
	}
	msgs, err := s.Wait(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].From != "attestation@cpam.example" || msgs[0].To[0] != "eva@example.org" || !strings.Contains(string(msgs[0].Raw), "\r\n\r\nun\r\n") {
		t.Errorf("first message: %+v", msgs[0])
	}
	if msgs[1].To[0] != "lea@example.org" || msgs[1].At.Before(msgs[0].At) {
		t.Errorf("second message: %+v", msgs[1])
	}
	for i, want := range []string{"eva@example.org", "lea@example.org"} {
		select {
		case m := <-sub:
			if m.To[0] != want {
				t.Errorf("subscription message %d to %q, want %q", i, m.To[0], want)
			}
		case <-ctx.Done():
			t.Fatal("subscription got nothing")
		}
	}
	if n := s.Connections(); n != 2 {
		t.Errorf("Connections = %d, want 2 (sendMail dials once per message)", n)
	}
}

func TestSMTPWaitGivesUpWithTheContext(t *testing.T) {
	s := testkit.SMTP(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Wait(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait = %v, want context.Canceled", err)
	}
}

func TestSMTPFault(t *testing.T) {
	s := testkit.SMTP(t)
	s.SetFault(func(from string, to []string) error {
		if to[0] == "full@example.org" {
			return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "Mailbox full"}
		}
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
	})
	var smtpErr *smtp.SMTPError
	err := sendMail(s.Addr(), "a@cpam.example", "full@example.org", "x")
	if !errors.As(err, &smtpErr) || smtpErr.Code != 452 {
		t.Errorf("fault 452: client got %v", err)
	}
	err = sendMail(s.Addr(), "a@cpam.example", "nobody@example.org", "x")
	if !errors.As(err, &smtpErr) || smtpErr.Code != 550 {
		t.Errorf("fault 550: client got %v", err)
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("%d refused messages were kept", n)
	}
	s.SetFault(nil)
	if err := sendMail(s.Addr(), "a@cpam.example", "eva@example.org", "x"); err != nil {
		t.Errorf("after SetFault(nil): %v", err)
	}
}

func TestSMTPStopRefusesAndStartKeepsMessages(t *testing.T) {
	s := testkit.SMTP(t)
	addr := s.Addr()
	if err := sendMail(addr, "a@cpam.example", "eva@example.org", "avant"); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := sendMail(addr, "a@cpam.example", "eva@example.org", "pendant"); err == nil {
		t.Fatal("a stopped server accepted a message")
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if s.Addr() != addr {
		t.Errorf("restarted on %s, want %s", s.Addr(), addr)
	}
	if err := sendMail(addr, "a@cpam.example", "eva@example.org", "après"); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Messages()); n != 2 {
		t.Errorf("%d messages after the restart, want 2", n)
	}
}

func TestSMTPSubscriptionEndsWithClose(t *testing.T) {
	s, err := localmail.StartSMTP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sub := s.Subscribe(context.Background())
	s.Close()
	select {
	case _, ok := <-sub:
		if ok {
			t.Error("received a message nobody sent")
		}
	case <-ctxFor(t).Done():
		t.Fatal("the subscription channel was not closed by Close")
	}
}
