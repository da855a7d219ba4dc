//go:build linux

package outbox_test

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/cpam/attestd/outbox"
)

// countingSession counts the messages whose data it read to the end.
type countingSession struct{ taken *atomic.Int32 }

func (s countingSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s countingSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s countingSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.taken.Add(1)
	return nil
}
func (s countingSession) Reset()        {}
func (s countingSession) Logout() error { return nil }

// A process SIGKILLed while its note of a reply is being written (afterDot)
// has not let the relay take the reply when DiscardUnnoted is set: the dot,
// held in the socket, goes with the reset connection. Without it, the
// kernel sends the dot as it closes the dead process's socket, and the
// relay takes a reply nobody noted: another replica would send it again.
func TestDiscardUnnotedDotOfAKilledProcess(t *testing.T) {
	if addr := os.Getenv("OUTBOX_KILLED_SENDER"); addr != "" {
		killedSender(addr, os.Getenv("OUTBOX_DISCARD") != "")
		return
	}
	for _, tc := range []struct {
		discard bool
		want    int32
	}{{true, 0}, {false, 1}} {
		var taken atomic.Int32
		srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
			return countingSession{&taken}, nil
		}))
		srv.Domain = "relay.test"
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = srv.Serve(ln) }()
		cmd := exec.Command(os.Args[0], "-test.run=^TestDiscardUnnotedDotOfAKilledProcess$")
		cmd.Env = append(os.Environ(), "OUTBOX_KILLED_SENDER="+ln.Addr().String())
		if tc.discard {
			cmd.Env = append(cmd.Env, "OUTBOX_DISCARD=1")
		}
		err = cmd.Run()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("discard=%v: the sender was not killed in its hook: %v", tc.discard, err)
		}
		// The relay reads what the kernel sent for the dead process; give
		// it the time to, however loaded the machine.
		deadline := time.Now().Add(3 * time.Second)
		for taken.Load() < tc.want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		_ = srv.Close()
		if got := taken.Load(); got != tc.want {
			t.Errorf("discard=%v: the relay took %d message(s), want %d", tc.discard, got, tc.want)
		}
	}
}

// killedSender sends one message to addr and kills its own process in the
// hook, as a SIGKILL would between the dot and the note's commit.
func killedSender(addr string, discard bool) {
	s := outbox.NewSender(outbox.SMTPConfig{Address: addr, DiscardUnnoted: discard})
	raw := []byte("From: a@cpam.example\r\nTo: b@example.org\r\nSubject: x\r\n\r\nbody\r\n")
	_ = s.SendWithHook(context.Background(), "a@cpam.example", []string{"b@example.org"}, raw, func() {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Minute)
	})
	os.Exit(3)
}
