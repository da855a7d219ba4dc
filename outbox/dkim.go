package outbox

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"

	"github.com/emersion/go-msgauth/dkim"
)

// NewDKIMSigner returns a [Signer] that prepends a DKIM-Signature for domain
// and selector, made with key (an *rsa.PrivateKey or ed25519.PrivateKey),
// relaxed/relaxed canonicalization, SHA-256. The signature's t= is the
// signing time (go-msgauth reads the clock), so signed bytes differ from one
// call to the next.
func NewDKIMSigner(domain, selector string, key crypto.Signer) (Signer, error) {
	if domain == "" || selector == "" || key == nil {
		return nil, errors.New("dkim: domain, selector and key are all required")
	}
	// The fields the signature covers (RFC 6376 section 5.4.1), our own
	// markers included so they cannot be stripped or forged unnoticed.
	headerKeys := []string{
		"From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
		"MIME-Version", "Content-Type", "Auto-Submitted", "X-Attestation-Outcome", LoopHeader,
	}
	opts := &dkim.SignOptions{
		Domain:                 domain,
		Selector:               selector,
		Signer:                 key,
		Hash:                   crypto.SHA256,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             headerKeys,
	}
	return func(raw []byte) ([]byte, error) {
		var out bytes.Buffer
		out.Grow(len(raw) + 1024)
		if err := dkim.Sign(&out, bytes.NewReader(raw), opts); err != nil {
			return nil, fmt.Errorf("dkim signing for %s (selector %s): %w", domain, selector, err)
		}
		return out.Bytes(), nil
	}, nil
}
