package seal

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base32"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/cpam/attestd/rules"
)

// MaxCodewords is the most a code may take in DataMatrix ASCII mode: the
// 104×104 symbol, about 40 mm at the module size the attestation prints. A
// family of eight fits with room to spare; past that, Seal leaves the last
// beneficiaries out and counts them (field PL).
const MaxCodewords = 816

// sigLen is the signature's length once in base32: 64 bytes, no padding.
const sigLen = 103

// b32 is base32 as 2D-Doc writes it: RFC 4648 alphabet, no padding.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Signer signs codes with one private key.
type Signer struct {
	key    *ecdsa.PrivateKey
	issuer string
	keyID  string
}

// NewSigner signs with key as keyID of issuer (four characters each, A-Z
// and 0-9). key must be on P-256.
func NewSigner(key *ecdsa.PrivateKey, issuer, keyID string) (*Signer, error) {
	if key == nil || key.Curve != elliptic.P256() {
		return nil, errors.New("seal: the signing key must be an ECDSA P-256 key")
	}
	if !isID(issuer) || !isID(keyID) {
		return nil, fmt.Errorf("seal: issuer %q and key id %q must be four characters A-Z or 0-9", issuer, keyID)
	}
	return &Signer{key: key, issuer: issuer, keyID: keyID}, nil
}

// KeyID is the id of the signer's key.
func (s *Signer) KeyID() string { return s.keyID }

// Seal returns the signed code of c, signed on signedOn with s's issuer and
// key id. A code over MaxCodewords leaves beneficiaries out from the last,
// keeping at least one, and says how many (More). The signature is
// deterministic (RFC 6979): the same content gives the same code.
func (s *Signer) Seal(c Content, signedOn rules.Date) (string, error) {
	c.Issuer, c.KeyID, c.SignedOn = s.issuer, s.keyID, signedOn
	c.Beneficiaries = c.Beneficiaries[:len(c.Beneficiaries):len(c.Beneficiaries)]
	for {
		msg, err := c.message()
		if err != nil {
			return "", err
		}
		if Codewords(msg)+1+sigLen <= MaxCodewords || len(c.Beneficiaries) == 1 {
			sig, err := s.sign(msg)
			if err != nil {
				return "", err
			}
			code := msg + us + sig
			if Codewords(code) > MaxCodewords {
				return "", fmt.Errorf("seal: the code takes %d codewords, more than %d even with one beneficiary", Codewords(code), MaxCodewords)
			}
			return code, nil
		}
		c.Beneficiaries = c.Beneficiaries[:len(c.Beneficiaries)-1]
		c.More++
	}
}

// sign is the base32 of r and s, 32 bytes each, over SHA-256 of msg.
func (s *Signer) sign(msg string) (string, error) {
	sum := sha256.Sum256([]byte(msg))
	der, err := s.key.Sign(nil, sum[:], crypto.SHA256) // nil: RFC 6979
	if err != nil {
		return "", fmt.Errorf("seal: signing: %w", err)
	}
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		return "", fmt.Errorf("seal: signing: %w", err)
	}
	raw := make([]byte, 64)
	rs.R.FillBytes(raw[:32])
	rs.S.FillBytes(raw[32:])
	return b32.EncodeToString(raw), nil
}

// Codewords is how many data codewords s takes in DataMatrix ECC200 ASCII
// mode: two digits in a row make one, a byte over 127 two, any other one.
func Codewords(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		switch {
		case isDigit(s[i]) && i+1 < len(s) && isDigit(s[i+1]):
			i++
		case s[i] > 127:
			n++
		}
		n++
	}
	return n
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Why a code does not verify. Verify wraps one of them.
var (
	ErrInvalid    = errors.New("signature invalide")
	ErrUnknownKey = errors.New("clé inconnue")
	ErrExpiredKey = errors.New("clé expirée")
)

// Verified is a code whose signature holds.
type Verified struct {
	Content Content
	Key     TrustedKey
}

// Verify checks code against the trusted keys on day today. It fails with
// ErrUnknownKey when no trusted key has the code's issuer and key id,
// ErrInvalid when the signature does not hold (a character changed anywhere,
// a code cut short), ErrExpiredKey when today is not within the key's
// validity or the code was signed after its end.
func (r KeyRing) Verify(code string, today rules.Date) (*Verified, error) {
	msg, sig, ok := strings.Cut(strings.TrimRight(code, "\r\n"), us)
	if !ok || strings.Contains(sig, us) {
		return nil, fmt.Errorf("%w: no signature (one US separator expected)", ErrInvalid)
	}
	if len(msg) < headerLen || msg[:4] != marker {
		return nil, fmt.Errorf("%w: not a %s code", ErrInvalid, marker)
	}
	issuer, keyID := msg[4:8], msg[8:12]
	keys := r.find(issuer, keyID)
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: %s of issuer %s is not among the trusted keys", ErrUnknownKey, keyID, issuer)
	}
	raw, err := b32.DecodeString(sig)
	if err != nil || len(raw) != 64 || b32.EncodeToString(raw) != sig {
		return nil, fmt.Errorf("%w: the signature is not 64 bytes in base32", ErrInvalid)
	}
	sum := sha256.Sum256([]byte(msg))
	rr, ss := new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])
	var key *TrustedKey
	for i := range keys {
		if ecdsa.Verify(keys[i].Public, sum[:], rr, ss) {
			key = &keys[i]
			break
		}
	}
	if key == nil {
		return nil, fmt.Errorf("%w: the signature does not match the content", ErrInvalid)
	}
	c, err := parseMessage(msg)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	switch {
	case c.SignedOn.IsZero():
		return nil, fmt.Errorf("%w: no date of signature", ErrInvalid)
	case today.Before(key.From):
		return nil, fmt.Errorf("%w: key %s is valid only from %s", ErrExpiredKey, keyID, key.From)
	case !key.Until.IsZero() && key.Until.Before(c.SignedOn):
		return nil, fmt.Errorf("%w: signed on %s, after key %s ended (%s)", ErrExpiredKey, c.SignedOn, keyID, key.Until)
	case !key.Until.IsZero() && key.Until.Before(today):
		return nil, fmt.Errorf("%w: key %s was valid until %s", ErrExpiredKey, keyID, key.Until)
	}
	return &Verified{Content: c, Key: *key}, nil
}
