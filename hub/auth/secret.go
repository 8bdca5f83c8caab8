package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"strings"
)

// Secret prefixes. They make leaked secrets findable by scanners
// (regular expression `\brd[sl]?_[A-Za-z0-9_-]{48}`) and tell the kind of a
// credential without a store lookup.
const (
	TokenPrefix     = "rd_"
	SessionPrefix   = "rds_"
	LoginCodePrefix = "rdl_"
)

const (
	secretBytes = 32 // 256 bits
	encodedLen  = 48 // base64url of 32 secret bytes + 4 CRC bytes
)

// newSecret returns prefix + base64url(32 random bytes + CRC32 of them).
func newSecret(prefix string) string {
	var b [secretBytes + 4]byte
	_, _ = rand.Read(b[:secretBytes]) // crypto/rand.Read never fails on supported platforms
	binary.BigEndian.PutUint32(b[secretBytes:], crc32.ChecksumIEEE(b[:secretBytes]))
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// wellFormed reports whether s has the prefix, length and checksum of a
// secret we issued, so garbage is refused before any store access.
func wellFormed(s, prefix string) bool {
	body, ok := strings.CutPrefix(s, prefix)
	if !ok || len(body) != encodedLen {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(b) != secretBytes+4 {
		return false
	}
	return binary.BigEndian.Uint32(b[secretBytes:]) == crc32.ChecksumIEEE(b[:secretBytes])
}

// hashSecret is the stored form of a secret. SHA-256 suffices because the
// secret has 256 bits of entropy: there is nothing to brute-force.
func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// sameHash compares two hex hashes in constant time.
func sameHash(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

var idEnc = base32.StdEncoding.WithPadding(base32.NoPadding)

// newID returns a random public identifier such as "tok_k3…"; IDs are not
// secrets, they name things in lists, audit records and revocations.
func newID(prefix string) string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return prefix + strings.ToLower(idEnc.EncodeToString(b[:]))
}
