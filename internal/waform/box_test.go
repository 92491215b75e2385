package waform

import (
	"crypto/rand"
	"testing"

	"github.com/parleyhq/parley/internal/secret"
)

func newBox(t testing.TB) *secret.Box {
	k := make([]byte, secret.KeySize)
	_, _ = rand.Read(k)
	b, err := secret.NewBox(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
