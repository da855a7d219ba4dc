package outbox

import (
	"crypto/tls"
	"errors"
	"syscall"
)

// dataEnd ends the data of a message: the body was written up to and
// including its last CRLF.
var dataEnd = []byte(".\r\n")

// endData writes the end of the data and then calls afterDot (when not
// nil), keeping the two as close together as the platform allows.
//
// Once the dot is out, the relay may take the message; until afterDot has
// noted it, a crash sends it again at the next start. On a clear-text TCP
// connection the dot goes out by a raw write(2) on the socket, inside
// which the Go scheduler cannot step in, and afterDot runs right after it
// on the same thread: no other goroutine runs between the two (a goroutine
// coming back from an ordinary system call may otherwise wait for a
// processor for milliseconds). Over TLS the dot is one more encrypted
// record written the ordinary way, held in the socket by TCP_CORK, and
// afterDot follows the flush.
//
// With DiscardUnnoted, the socket is set to reset on close (SO_LINGER 0)
// from before the dot is written until afterDot has returned, and back to
// an ordinary close before the dot is released: a process killed in
// between drops the dot instead of sending it, so the relay never takes a
// reply whose note was not written. What remains is the time of one
// setsockopt after the note's commit, where a kill drops a reply already
// noted (two system calls, against the note's whole round trip).
func (s *Sender) endData(afterDot func()) error {
	if afterDot == nil {
		afterDot = func() {}
	}
	if s.cfg.DiscardUnnoted && s.resetOnClose(true) {
		noted := afterDot
		afterDot = func() {
			noted()
			s.resetOnClose(false)
		}
	}
	if s.cfg.TLS == "" || s.cfg.TLS == "none" {
		if sc, ok := s.conn.(syscall.Conn); ok {
			if err := rawWriteThen(sc, dataEnd, afterDot); !errors.Is(err, errNoRawWrite) {
				return err
			}
		}
	}
	// TLS: the encrypted dot is held in the TCP socket (Linux) until
	// afterDot has run, so at least the relay's wake-up cannot come between.
	uncork := s.corkTCP()
	defer uncork()
	text := s.client.Text
	if _, err := text.W.Write(dataEnd); err != nil {
		return err
	}
	if err := text.W.Flush(); err != nil {
		return err
	}
	afterDot()
	return nil
}

// corkTCP sets TCP_CORK on the TCP connection under the session (under
// TLS too) where the platform has it, and returns what clears it.
func (s *Sender) corkTCP() (uncork func()) {
	conn := s.conn
	if tc, ok := conn.(*tls.Conn); ok {
		conn = tc.NetConn()
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return func() {}
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return func() {}
	}
	corked := false
	if rc.Control(func(fd uintptr) { corked = cork(fd, true) }) != nil || !corked {
		return func() {}
	}
	return func() { _ = rc.Control(func(fd uintptr) { cork(fd, false) }) }
}

// resetOnClose sets (on) or clears SO_LINGER with a zero timeout on the
// TCP connection under the session, and reports whether it could.
func (s *Sender) resetOnClose(on bool) bool {
	conn := s.conn
	if tc, ok := conn.(*tls.Conn); ok {
		conn = tc.NetConn()
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	done := false
	if rc.Control(func(fd uintptr) { done = lingerZero(fd, on) }) != nil {
		return false
	}
	return done
}

// errNoRawWrite: this platform or connection cannot write raw; the caller
// writes the ordinary way (nothing was written).
var errNoRawWrite = errors.New("no raw write here")
