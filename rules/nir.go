package rules

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// NIR errors. Callers tell "not a NIR at all" from "a NIR whose key is wrong":
// the second one is the nir_invalid outcome.
var (
	ErrNIRFormat = errors.New("not a NIR: 13 characters and a 2-digit key expected")
	ErrNIRKey    = errors.New("NIR key does not match")
)

// NormalizeNIR removes the spaces, dots and dashes people write inside a NIR
// and upper-cases the Corsican 2A/2B. It does not validate.
func NormalizeNIR(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ' ' || r == '.' || r == '-' || r == '\u00a0' || r == '\t':
		case r == 'a' || r == 'b':
			b.WriteRune(r - 'a' + 'A')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// CheckNIR validates a 15-character NIR (spaces allowed) and returns it
// normalized. The error wraps ErrNIRFormat or ErrNIRKey.
func CheckNIR(s string) (string, error) {
	n := NormalizeNIR(s)
	if len(n) != 15 {
		return "", fmt.Errorf("%w (got %d characters)", ErrNIRFormat, len(n))
	}
	if !strings.ContainsRune("12378", rune(n[0])) || !allDigits(n[13:]) {
		return "", ErrNIRFormat
	}
	key, err := NIRKey(n[:13])
	if err != nil {
		return "", err
	}
	if key != n[13:] {
		return "", ErrNIRKey
	}
	return n, nil
}

// NIRKey returns the 2-digit key of a 13-character NIR body (2A/2B allowed):
// 97 - (body mod 97), with 2A read as 19 and 2B as 18.
func NIRKey(body string) (string, error) {
	b := NormalizeNIR(body)
	if len(b) != 13 {
		return "", ErrNIRFormat
	}
	num := b
	switch b[5:7] {
	case "2A":
		num = b[:5] + "19" + b[7:]
	case "2B":
		num = b[:5] + "18" + b[7:]
	}
	if !allDigits(num) {
		return "", ErrNIRFormat
	}
	v, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return "", ErrNIRFormat
	}
	return fmt.Sprintf("%02d", 97-v%97), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// FormatNIR writes a normalized NIR in the groups of the carte Vitale:
// "2 90 10 75 111 042 50".
func FormatNIR(n string) string {
	n = NormalizeNIR(n)
	if len(n) != 15 {
		return n
	}
	return strings.Join([]string{n[0:1], n[1:3], n[3:5], n[5:7], n[7:10], n[10:13], n[13:15]}, " ")
}

// MaskNIR hides all but the sex digit and the key: "2 ** ** ** *** *** 50".
// Use it where an operator needs to tell two NIRs apart without reading them.
func MaskNIR(n string) string {
	n = NormalizeNIR(n)
	if len(n) != 15 {
		return "***"
	}
	return n[0:1] + " ** ** ** *** *** " + n[13:15]
}
