// Package secret keeps secrets at rest: it loads or generates the master key
// and seals values with AES-256-GCM, so a copy of the database alone does not
// reveal channel tokens or app secrets.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the master key length in bytes.
const KeySize = 32

// Box seals and opens values with the master key.
type Box struct{ aead cipher.AEAD }

// ParseKey decodes a key given as base64 (standard or URL, padded or not)
// or hex, and checks its length.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, dec := range []func(string) ([]byte, error){
		hex.DecodeString,
		base64.StdEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString,
		base64.RawURLEncoding.DecodeString,
	} {
		if k, err := dec(s); err == nil && len(k) == KeySize {
			return k, nil
		}
	}
	return nil, fmt.Errorf("the secret key must be %d bytes, written as base64 or hex (generate one with: openssl rand -base64 32)", KeySize)
}

// ErrKeyRequired is returned by Load when no key is configured and none is
// kept in the data directory: a shared database must never get a key that
// only one process knows.
var ErrKeyRequired = errors.New("PARLEY_SECRET_KEY is required with PostgreSQL (every process must use the same key); create one with `parley key new` (or `openssl rand -base64 32`) and set PARLEY_SECRET_KEY to it in every process's environment")

// Load returns the key given in configured, or else the one kept in
// dir/secret.key; it never generates one (ErrKeyRequired).
func Load(configured, dir string) ([]byte, error) {
	if configured == "" {
		if _, err := os.Stat(filepath.Join(dir, "secret.key")); errors.Is(err, os.ErrNotExist) {
			return nil, ErrKeyRequired
		}
	}
	k, _, err := LoadOrCreate(configured, dir)
	return k, err
}

// fingerprintLabel is what Fingerprint authenticates; changing it would make
// every recorded fingerprint mismatch.
const fingerprintLabel = "parley secret key fingerprint v1"

// Fingerprint identifies key without revealing it: the first 16 bytes of
// HMAC-SHA256(key, a fixed label), in hex. The database records it so that
// a process with another key is stopped at start.
func Fingerprint(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(fingerprintLabel))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// LoadOrCreate returns the key given in configured, or else the one kept in
// dir/secret.key, generating and saving it on first use. created reports
// whether a key was generated, so the caller can warn that it must be kept.
func LoadOrCreate(configured, dir string) (key []byte, created bool, err error) {
	if configured != "" {
		k, err := ParseKey(configured)
		if err != nil {
			return nil, false, fmt.Errorf("PARLEY_SECRET_KEY: %w", err)
		}
		return k, false, nil
	}
	path := filepath.Join(dir, "secret.key")
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		k, err := ParseKey(string(b))
		if err != nil {
			return nil, false, fmt.Errorf("reading %s: %w", path, err)
		}
		return k, false, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, false, fmt.Errorf("reading %s: %w", path, err)
	}
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, false, fmt.Errorf("generating a secret key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("creating %s: %w", dir, err)
	}
	// O_EXCL: two processes starting together must not each write a key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadOrCreate("", dir)
	}
	if err != nil {
		return nil, false, fmt.Errorf("saving the secret key to %s: %w", path, err)
	}
	defer f.Close()
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
		return nil, false, fmt.Errorf("saving the secret key to %s: %w", path, err)
	}
	return k, true, f.Sync()
}

// NewBox returns a Box sealing with key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext; the result is printable and self-describing.
func (b *Box) Seal(plaintext string) (string, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("sealing a secret: %w", err)
	}
	out := b.aead.Seal(nonce, nonce, []byte(plaintext), nil)
	return "v1:" + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts a value made by Seal.
func (b *Box) Open(sealed string) (string, error) {
	raw, ok := strings.CutPrefix(sealed, "v1:")
	if !ok {
		return "", errors.New("opening a secret: unknown format")
	}
	buf, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(buf) < b.aead.NonceSize() {
		return "", errors.New("opening a secret: corrupt value")
	}
	n := b.aead.NonceSize()
	pt, err := b.aead.Open(nil, buf[:n], buf[n:], nil)
	if err != nil {
		return "", errors.New("opening a secret: wrong key or tampered value")
	}
	return string(pt), nil
}
