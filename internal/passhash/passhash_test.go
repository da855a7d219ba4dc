package passhash

import (
	"strings"
	"testing"
)

// refArgon2id is "password" hashed with salt "somesalt", t=2, m=64, p=1:
// the argon2id vector of golang.org/x/crypto/argon2's tests (from the
// reference implementation), written as a PHC string.
const refArgon2id = "$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHQ$Bo1ismRVk2qm6+YAYLCmWHDb+j3fjUH3"

func TestArgon2idByDefault(t *testing.T) {
	h := Hash("correct horse")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("Hash = %q, want an argon2id PHC string", h)
	}
	if err := Validate(h); err != nil {
		t.Fatalf("Validate(%q): %v", h, err)
	}
	if !Check(h, "correct horse") || Check(h, "correct horse ") || Check(h, "") {
		t.Error("the argon2id hash matches a wrong password or not the right one")
	}
	if h2 := Hash("correct horse"); h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
}

func TestReferenceArgon2id(t *testing.T) {
	if err := Validate(refArgon2id); err != nil {
		t.Fatal(err)
	}
	if !Check(refArgon2id, "password") || Check(refArgon2id, "Password") {
		t.Error("the reference argon2id hash does not check as the reference says")
	}
}

func TestBcrypt(t *testing.T) {
	h, err := HashBcrypt("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$2a$12$") || Validate(h) != nil {
		t.Fatalf("HashBcrypt = %q", h)
	}
	if !Check(h, "correct horse") || Check(h, "wrong") {
		t.Error("the bcrypt hash matches a wrong password or not the right one")
	}
}

func TestMalformedHashes(t *testing.T) {
	for _, c := range []struct{ hash, says string }{
		{"secret", "neither an argon2id"},
		{"$2a$12$short", "neither an argon2id"},
		{"$argon2i$v=19$m=64,t=2,p=1$c29tZXNhbHQ$Bo1ismRVk2qm6+YAYLCmWHDb+j3fjUH3", "$argon2id$v=19"},
		{"$argon2id$v=16$m=64,t=2,p=1$c29tZXNhbHQ$Bo1ismRVk2qm6+YAYLCmWHDb+j3fjUH3", "version"},
		{"$argon2id$v=19$m=64,t=2$c29tZXNhbHQ$Bo1ismRVk2qm6+YAYLCmWHDb+j3fjUH3", "parameters"},
		{"$argon2id$v=19$m=64,t=2,p=1,x=3$c29tZXNhbHQ$Bo1ismRVk2qm6+YAYLCmWHDb+j3fjUH3", "parameters"},
		{"$argon2id$v=19$m=99999999,t=2,p=1$c29tZXNhbHQ$Bo1ismRVk2qm6+YAYLCmWHDb+j3fjUH3", "m=99999999"},
		{"$argon2id$v=19$m=64,t=0,p=1$c29tZXNhbHQ$Bo1ismRVk2qm6+YAYLCmWHDb+j3fjUH3", "t=0"},
		{"$argon2id$v=19$m=64,t=2,p=0$c29tZXNhbHQ$Bo1ismRVk2qm6+YAYLCmWHDb+j3fjUH3", "p=0"},
		{"$argon2id$v=19$m=64,t=2,p=1$c2FsdA$Bo1ismRVk2qm6+YAYLCmWHDb+j3fjUH3", "salt"},
		{"$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHQ$!!!", "hash"},
	} {
		err := Validate(c.hash)
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("Validate(%q) = %v, want an error saying %q", c.hash, err, c.says)
		}
		if Check(c.hash, "password") {
			t.Errorf("Check(%q) matched", c.hash)
		}
	}
}
