package outbox

import (
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
// record written the ordinary way, and afterDot follows the flush.
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

// errNoRawWrite: this platform or connection cannot write raw; the caller
// writes the ordinary way (nothing was written).
var errNoRawWrite = errors.New("no raw write here")
