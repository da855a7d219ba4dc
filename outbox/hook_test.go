package outbox_test

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/cpam/attestd/outbox"
)

// heldSession reads the whole message, says so, then answers the end of
// the data only when the test lets it, with answer.
type heldSession struct {
	got     chan<- []byte
	release <-chan error
}

func (s heldSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s heldSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == "refused@example.org" {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
	}
	return nil
}
func (s heldSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.got <- b
	return <-s.release
}
func (s heldSession) Reset()        {}
func (s heldSession) Logout() error { return nil }

func startHeldRelay(t *testing.T) (addr string, got <-chan []byte, release chan<- error) {
	t.Helper()
	gotc, rel := make(chan []byte, 1), make(chan error)
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return heldSession{got: gotc, release: rel}, nil
	}))
	srv.Domain = "relay.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), gotc, rel
}

// The hook runs once the relay has the whole message and before its answer:
// the relay here holds its answer until the test has seen the hook run.
func TestSendWithHookRunsAfterTheDotBeforeTheAnswer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer error
		want   func(error) bool
	}{
		{"accepted", nil, func(err error) bool { return err == nil }},
		{"refused after the dot", &smtp.SMTPError{Code: 451, Message: "Try again later"}, func(err error) bool {
			var se *outbox.SendError
			return errors.As(err, &se) && se.Code == 451 && se.Temporary
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, got, release := startHeldRelay(t)
			s := newSender(t, outbox.SMTPConfig{Address: addr})
			var hooks atomic.Int32
			hooked := make(chan struct{}, 1)
			done := make(chan error, 1)
			raw := composed(t, 1)
			go func() {
				done <- s.SendWithHook(testCtx(t), "a@cpam.example", []string{"b@example.org"}, raw, func() {
					hooks.Add(1)
					hooked <- struct{}{}
				})
			}()
			msg := <-got // the relay has read up to the dot, and holds its answer
			if len(msg) == 0 {
				t.Fatal("the relay got an empty message")
			}
			select {
			case <-hooked:
			case err := <-done: // a hook waiting for the answer: the context's deadline ends it
				t.Fatalf("SendWithHook returned %v before its hook ran, while the relay held its answer", err)
			}
			select {
			case err := <-done:
				t.Fatalf("SendWithHook returned %v before the relay answered", err)
			default:
			}
			release <- tc.answer
			if err := <-done; !tc.want(err) {
				t.Errorf("SendWithHook = %v", err)
			}
			if n := hooks.Load(); n != 1 {
				t.Errorf("hook ran %d times, want once", n)
			}
		})
	}
}

// No hook when the message never reached the end of the data.
func TestSendWithHookNotRunWhenRefusedBeforeData(t *testing.T) {
	addr, _, _ := startHeldRelay(t)
	s := newSender(t, outbox.SMTPConfig{Address: addr})
	ran := false
	err := s.SendWithHook(testCtx(t), "a@cpam.example", []string{"refused@example.org"}, composed(t, 1), func() { ran = true })
	var se *outbox.SendError
	if !errors.As(err, &se) || se.Code != 550 {
		t.Fatalf("SendWithHook = %v, want the 550 of RCPT", err)
	}
	if ran {
		t.Error("the hook ran for a message refused at RCPT TO")
	}
}
