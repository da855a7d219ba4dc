package daemon_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/internal/loadgen"
	"github.com/cpam/attestd/samples"
)

// TestNewMailWakesTheDaemon: with the safety-net poll an hour away, each
// request delivered while the daemon idles is answered all the same: IDLE
// (and its NOOP wake-ups) must bring it to the work connection's next
// sweep, and that sweep must see it. In process, and against Dovecot when
// the environment points at it (Dovecot leaves a message delivered by
// another session out of a SEARCH until it has announced it).
func TestNewMailWakesTheDaemon(t *testing.T) {
	for name, newEnv := range map[string]func(testing.TB) mailEnv{
		"local":   func(t testing.TB) mailEnv { return newLocalEnv(t) },
		"dovecot": func(t testing.TB) mailEnv { return newRealEnv(t) },
	} {
		t.Run(name, func(t *testing.T) {
			env := newEnv(t)
			cfg := testConfig(t)
			cfg.IMAP.PollInterval = config.Duration(time.Hour)
			cfg.IMAP.IdleWakeup = config.Duration(100 * time.Millisecond)
			d := start(t, env, cfg, daemon.Options{})
			raw := samples.Requests()[0].Raw
			for i := range 3 {
				time.Sleep(300 * time.Millisecond) // the daemon idles
				id := fmt.Sprintf("wake-%d-%d@test.example", i, time.Now().UnixNano())
				env.deliver(t, loadgen.SetMessageID(raw, id))
				res := d.collect(t, 1, 30*time.Second)
				if res[0].MessageID != id || res[0].ReplyTo == "" {
					t.Fatalf("request %d: %+v, want %s answered", i, res[0], id)
				}
			}
		})
	}
}
