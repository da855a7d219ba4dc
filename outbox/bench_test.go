package outbox_test

import (
	"context"
	"testing"

	"github.com/cpam/attestd/internal/testkit"
	"github.com/cpam/attestd/outbox"
)

// BenchmarkCompose60KPDF composes a full issued reply: text, HTML and a
// 60 KB PDF (go-mail rendering plus the boundary rewrite).
func BenchmarkCompose60KPDF(b *testing.B) {
	r := sampleReply() // carries a 60 KB attachment
	b.ReportAllocs()
	b.SetBytes(int64(len(r.Attachment.Data)))
	for b.Loop() {
		if _, _, err := outbox.Compose(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSendReusedConnection sends a composed 60 KB-PDF reply to the
// in-process relay over the one kept connection.
func BenchmarkSendReusedConnection(b *testing.B) {
	relay := testkit.SMTP(b)
	s := newSender(b, outbox.SMTPConfig{Address: relay.Addr()})
	raw, _, err := outbox.Compose(sampleReply())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if err := s.Send(ctx, "attestation@cpam.example", []string{"eva.martin@example.org"}, raw); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if n := relay.Connections(); n != 1 {
		b.Errorf("%d connections, want 1", n)
	}
}
