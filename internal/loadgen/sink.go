package loadgen

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-smtp"
)

// accepted is a reply as the SMTP sink accepted it.
type accepted struct {
	inReplyTo string // the request's Message-ID, without angle brackets
	outcome   string // X-Attestation-Outcome
	pdf       bool   // carries an application/pdf part
	at        time.Time
}

// sink is an SMTP server that accepts every message, notes what a reply
// says of itself and when it was taken, and keeps nothing else: unlike
// localmail's server it holds no replies in memory, so a long run stays
// small.
type sink struct {
	ln   net.Listener
	srv  *smtp.Server
	out  chan accepted
	bufs sync.Pool // of *bytes.Buffer: what replies are read into
}

// startSink listens on a free loopback port. Replies arrive on s.out,
// which must be read.
func startSink() (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("loadgen: SMTP sink: %w", err)
	}
	s := &sink{ln: ln, out: make(chan accepted, 4096)}
	s.bufs.New = func() any { return new(bytes.Buffer) }
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &sinkSession{s: s}, nil
	}))
	s.srv.Domain = "sink.attestd.bench"
	s.srv.MaxMessageBytes = 64 << 20
	s.srv.ReadTimeout = 10 * time.Minute
	s.srv.WriteTimeout = time.Minute
	s.srv.ErrorLog = quietLog{}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *sink) addr() string { return s.ln.Addr().String() }

func (s *sink) close() { s.srv.Close() }

// quietLog drops go-smtp's log of connection errors (a daemon stopped
// mid-session is normal at the end of a run).
type quietLog struct{}

func (quietLog) Printf(string, ...any) {}
func (quietLog) Println(...any)        {}

type sinkSession struct{ s *sink }

func (*sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (*sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (*sinkSession) Reset()                               {}
func (*sinkSession) Logout() error                        { return nil }

func (ss *sinkSession) Data(r io.Reader) error {
	buf := ss.s.bufs.Get().(*bytes.Buffer)
	defer ss.s.bufs.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(r); err != nil {
		return err
	}
	a := accepted{at: time.Now()}
	if h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(buf.Bytes()))); err == nil {
		a.inReplyTo = strings.Trim(strings.TrimSpace(h.Get("In-Reply-To")), "<>")
		a.outcome = h.Get("X-Attestation-Outcome")
	}
	a.pdf = bytes.Contains(buf.Bytes(), []byte("application/pdf"))
	ss.s.out <- a
	return nil
}
