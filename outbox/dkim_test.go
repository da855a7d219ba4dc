package outbox_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/cpam/attestd/outbox"
)

func TestDKIMSignedReplyVerifies(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := outbox.NewDKIMSigner("cpam.example", "att2026", priv)
	if err != nil {
		t.Fatal(err)
	}
	r := sampleReply()
	r.Signer = signer
	raw, _ := mustCompose(t, r)
	if !bytes.HasPrefix(raw, []byte("DKIM-Signature:")) {
		t.Fatalf("signed reply starts with %q", raw[:40])
	}
	lookups := 0
	opts := &dkim.VerifyOptions{LookupTXT: func(domain string) ([]string, error) {
		lookups++
		if domain != "att2026._domainkey.cpam.example" {
			return nil, fmt.Errorf("unexpected DKIM lookup %q", domain)
		}
		return []string{"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}, nil
	}}

	verify := func(msg []byte) error {
		vs, err := dkim.VerifyWithOptions(bytes.NewReader(msg), opts)
		if err != nil {
			return err
		}
		if len(vs) != 1 {
			return fmt.Errorf("%d signatures", len(vs))
		}
		if vs[0].Domain != "cpam.example" {
			return fmt.Errorf("signed for %q", vs[0].Domain)
		}
		return vs[0].Err
	}
	if err := verify(raw); err != nil {
		t.Fatalf("the signed reply does not verify: %v", err)
	}
	if lookups == 0 {
		t.Error("the key was not looked up through the injected LookupTXT")
	}
	forged := bytes.Replace(raw, []byte("X-Attestation-Outcome: issued"), []byte("X-Attestation-Outcome: failed"), 1)
	if err := verify(forged); err == nil {
		t.Error("a reply whose outcome header was changed still verifies")
	}
}

func TestNewDKIMSignerNeedsEverything(t *testing.T) {
	if _, err := outbox.NewDKIMSigner("", "s", nil); err == nil {
		t.Error("accepted an empty domain and no key")
	}
}
