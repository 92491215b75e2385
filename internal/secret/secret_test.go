package secret

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateKeepsOneKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k1, created, err := LoadOrCreate("", dir)
	if err != nil || !created || len(k1) != KeySize {
		t.Fatalf("first: %v %v %d", err, created, len(k1))
	}
	k2, created, err := LoadOrCreate("", dir)
	if err != nil || created || string(k1) != string(k2) {
		t.Fatalf("second: %v %v", err, created)
	}
	st, _ := os.Stat(filepath.Join(dir, "secret.key"))
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode())
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in string
		ok bool
	}{
		{strings.Repeat("ab", 32), true},
		{"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", true},
		{"short", false},
		{strings.Repeat("ab", 31), false},
	}
	for _, tc := range tests {
		_, err := ParseKey(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseKey(%q) error = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	b, _ := NewBox(make([]byte, KeySize))
	s, err := b.Seal("EAAG-token")
	if err != nil || strings.Contains(s, "EAAG") {
		t.Fatalf("seal = %q, %v", s, err)
	}
	if pt, err := b.Open(s); err != nil || pt != "EAAG-token" {
		t.Fatalf("open = %q, %v", pt, err)
	}
	other, _ := NewBox([]byte(strings.Repeat("x", KeySize)))
	if _, err := other.Open(s); err == nil {
		t.Fatal("opened with the wrong key")
	}
	if _, err := b.Open("v1:!!"); err == nil {
		t.Fatal("opened garbage")
	}
}

func TestLoadNeverGenerates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Load("", dir); !errors.Is(err, ErrKeyRequired) || !strings.Contains(err.Error(), "openssl rand -base64 32") {
		t.Fatalf("Load without a key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "secret.key")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load wrote a key file: %v", err)
	}
	k, err := Load(strings.Repeat("ab", 32), dir)
	if err != nil || len(k) != KeySize {
		t.Fatalf("Load with a key: %v", err)
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	a, b := []byte(strings.Repeat("a", KeySize)), []byte(strings.Repeat("b", KeySize))
	tests := []struct {
		x, y []byte
		same bool
	}{{a, a, true}, {a, b, false}}
	for _, tc := range tests {
		fx, fy := Fingerprint(tc.x), Fingerprint(tc.y)
		if (fx == fy) != tc.same || len(fx) != 32 || strings.Contains(fx, string(tc.x[:4])) {
			t.Fatalf("Fingerprint: %s %s same=%v", fx, fy, tc.same)
		}
	}
}
