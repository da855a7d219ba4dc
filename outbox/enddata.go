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
func (s *Sender) endData(afterDot func()) error {
	if afterDot == nil {
		afterDot = func() {}
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

// errNoRawWrite: this platform or connection cannot write raw; the caller
// writes the ordinary way (nothing was written).
var errNoRawWrite = errors.New("no raw write here")
