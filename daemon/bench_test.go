package daemon_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cpam/attestd/daemon"
	"github.com/cpam/attestd/internal/loadgen"
	"github.com/cpam/attestd/samples"
)

// BenchmarkPipeline measures one message through the whole daemon on the
// in-process servers, one at a time: from its delivery to the mailbox (the
// daemon learns of it by IDLE) to its reply accepted by the SMTP server.
// ns/op is the latency of a request arriving while the daemon idles; B/op
// and allocs/op count the whole process (the servers are in it too).
func BenchmarkPipeline(b *testing.B) {
	for _, name := range []string{"01-eva-simple.eml", "02-benoit-famille-mentions.eml", "10-expediteur-inconnu.eml"} {
		b.Run(name, func(b *testing.B) { benchPipeline(b, name) })
	}
}

func benchPipeline(b *testing.B, name string) {
	var raw []byte
	for _, r := range samples.Requests() {
		if r.Name == name {
			raw = r.Raw
		}
	}
	env := newLocalEnv(b)
	cfg := testConfig(b)
	cfg.Limits.AttestationsPerComptePerDay = 1 << 30
	cfg.Limits.GenericRepliesPerAddressPerDay = 1 << 30
	d := start(b, env, cfg, daemon.Options{})
	replies := env.smtp.Subscribe(b.Context())
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		env.deliver(b, loadgen.SetMessageID(raw, fmt.Sprintf("pipeline-%d@bench.example", i)))
		select {
		case <-replies:
		case <-time.After(10 * time.Second):
			b.Fatalf("no reply to request %d", i)
		}
		<-d.results // filed: the daemon is idle again
	}
}
