package app

import (
	"context"
	"fmt"

	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/secret"
)

// keyFingerprintSetting names the setting that records which key seals the
// database's secrets.
const keyFingerprintSetting = "secret_key_fingerprint"

// ErrWrongKey is wrapped by New's error when the database's secrets were
// sealed with another key than this process has.
var ErrWrongKey = fmt.Errorf("wrong secret key")

// checkKey records the fingerprint of key in a database that has none, and
// refuses a key whose fingerprint differs from the recorded one: without it,
// a second process with its own key would start fine and then fail on every
// channel the first one connected ("opening a secret: wrong key").
func checkKey(ctx context.Context, st Store, key []byte, cfg config.Config) error {
	s, ok := st.(interface {
		SettingEnsure(ctx context.Context, name, value string) (string, error)
	})
	if !ok {
		return nil
	}
	fp := secret.Fingerprint(key)
	got, err := s.SettingEnsure(ctx, keyFingerprintSetting, fp)
	if err != nil {
		return fmt.Errorf("checking the secret key against the database: %w", err)
	}
	if got == fp {
		return nil
	}
	where := "PARLEY_SECRET_KEY"
	if cfg.SecretKey == "" {
		where = "the key in " + cfg.DataDir + "/secret.key"
	}
	return fmt.Errorf("%w: this database's secrets were sealed with a secret key whose fingerprint is %s, but %s has fingerprint %s; "+
		"start this process with the same PARLEY_SECRET_KEY as the process that created the database (`parley key fingerprint` prints a key's fingerprint)",
		ErrWrongKey, got, where, fp)
}
