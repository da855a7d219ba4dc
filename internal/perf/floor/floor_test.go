package floor_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/cpam/attestd/internal/mailenv"
	"github.com/cpam/attestd/internal/perf/floor"
	"github.com/cpam/attestd/internal/perf/loadprobe"
	"github.com/cpam/attestd/samples"
)

// TestFloorAnswersOnDovecotAndMailpit runs the floor on the real servers and
// measures it with the probe: every request sent gets one reply in Mailpit,
// matched by In-Reply-To, and the mailbox is left empty.
func TestFloorAnswersOnDovecotAndMailpit(t *testing.T) {
	env := mailenv.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := env.ResetIMAP(ctx); err != nil {
		t.Fatal(err)
	}
	host, port, err := net.SplitHostPort(env.SMTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	smtpPort, _ := strconv.Atoi(port)
	ready := make(chan struct{})
	done := make(chan error, 1)
	fctx, stop := context.WithCancel(ctx)
	go func() {
		done <- floor.Run(fctx, floor.Options{
			IMAP: env.IMAPAddr, User: env.IMAPUser, Password: env.IMAPPassword,
			SMTPHost: host, SMTPPort: smtpPort, Poll: 20 * time.Millisecond,
			Ready: func() { close(ready) },
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("the floor stopped before it was ready: %v", err)
	}
	var reqs [][]byte
	for _, r := range samples.Requests()[:3] {
		reqs = append(reqs, r.Raw)
	}
	res, err := loadprobe.Run(ctx, loadprobe.Options{
		IMAP: env.IMAPAddr, User: env.IMAPUser, Password: env.IMAPPassword, Mailpit: env.MailpitAPI,
		Requests: reqs, N: 7, Rate: 20, Timeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if err := <-done; err != nil {
		t.Errorf("the floor, stopped: %v", err)
	}
	if res.Sent != 7 || res.Replies != 7 || res.Missing != 0 || res.Duplicates != 0 {
		t.Errorf("probe: %s; want 7 sent, 7 replies", res)
	}
	if res.P50 <= 0 || res.P50 > res.Max || res.PerSecond <= 0 {
		t.Errorf("probe: latencies and throughput inconsistent: %s", res)
	}
}
