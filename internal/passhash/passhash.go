// Package passhash makes and checks the password hashes of the console's
// users (console.users[].password_hash): argon2id in the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash, as the reference implementation
// and libsodium write it), the default, or bcrypt ($2a$, $2b$, $2y$).
package passhash

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// The argon2id parameters of new hashes: OWASP's first choice (19 MiB,
// two passes, one lane), which costs a few tens of milliseconds a log-in.
const (
	memoryKiB = 19 * 1024
	passes    = 2
	lanes     = 1
	saltLen   = 16
	keyLen    = 32
)

// Bounds of the parameters a hash may carry: a hash from elsewhere is
// accepted within them, one outside is refused when the configuration is
// checked (a typo of m must not ask for terabytes at log-in).
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxPasses    = 64
	minSaltLen   = 8
	minKeyLen    = 16
)

// bcryptCost is the cost of new bcrypt hashes (Hash with bcrypt).
const bcryptCost = 12

// Hash returns the argon2id hash of password in the PHC string format.
func Hash(password string) string {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt) // never fails (Go 1.24+)
	key := argon2.IDKey([]byte(password), salt, passes, memoryKiB, lanes, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, memoryKiB, passes, lanes,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// HashBcrypt returns the bcrypt hash of password, for sites whose other
// tools read only bcrypt.
func HashBcrypt(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	return string(h), err
}

// argon2Hash is a parsed argon2id PHC string.
type argon2Hash struct {
	memory, passes uint32
	lanes          uint8
	salt, key      []byte
}

func parseArgon2id(s string) (argon2Hash, error) {
	var h argon2Hash
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return h, errors.New("an argon2id hash is $argon2id$v=19$m=M,t=T,p=P$SALT$HASH")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return h, fmt.Errorf("argon2id version %q: want v=%d", parts[2], argon2.Version)
	}
	var lanes uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.memory, &h.passes, &lanes); err != nil || n != 3 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", h.memory, h.passes, lanes) != parts[3] {
		return h, fmt.Errorf("argon2id parameters %q: want m=M,t=T,p=P", parts[3])
	}
	switch {
	case lanes < 1 || lanes > 255:
		return h, fmt.Errorf("argon2id p=%d: want 1 to 255", lanes)
	case h.passes < 1 || h.passes > maxPasses:
		return h, fmt.Errorf("argon2id t=%d: want 1 to %d", h.passes, maxPasses)
	case h.memory < 8*lanes || h.memory > maxMemoryKiB:
		return h, fmt.Errorf("argon2id m=%d: want %d to %d KiB", h.memory, 8*lanes, maxMemoryKiB)
	}
	h.lanes = uint8(lanes)
	var err error
	if h.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(h.salt) < minSaltLen {
		return h, fmt.Errorf("argon2id salt: want at least %d bytes in unpadded base64", minSaltLen)
	}
	if h.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(h.key) < minKeyLen {
		return h, fmt.Errorf("argon2id hash: want at least %d bytes in unpadded base64", minKeyLen)
	}
	return h, nil
}

// Validate tells whether hash is one Check can use: an argon2id PHC string
// within bounds, or a bcrypt hash.
func Validate(hash string) error {
	if strings.HasPrefix(hash, "$argon2") {
		_, err := parseArgon2id(hash)
		return err
	}
	if _, err := bcrypt.Cost([]byte(hash)); err != nil {
		return errors.New("neither an argon2id ($argon2id$…) nor a bcrypt ($2a$…) hash")
	}
	return nil
}

// Check tells whether password matches hash, comparing in constant time.
// A hash that does not parse matches nothing (the configuration check
// refuses it beforehand).
func Check(hash, password string) bool {
	if !strings.HasPrefix(hash, "$argon2") {
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	}
	h, err := parseArgon2id(hash)
	if err != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), h.salt, h.passes, h.memory, h.lanes, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1
}
