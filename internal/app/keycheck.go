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
func checkKey(ctx context.Context, st Store, key []byte, box *secret.Box, cfg config.Config) error {
	s, ok := st.(interface {
		SettingEnsure(ctx context.Context, name, value string) (string, error)
	})
	if !ok {
		return nil
	}
	fp := secret.Fingerprint(key)
	where := "PARLEY_SECRET_KEY"
	if cfg.SecretKey == "" {
		where = "the key in " + cfg.DataDir + "/secret.key"
	}
	// A database from before fingerprints were recorded: try the key on a
	// sealed value before recording it as the database's key.
	if sample, ok := st.(interface {
		SealedSample(ctx context.Context) (string, error)
	}); ok {
		sealed, err := sample.SealedSample(ctx)
		if err != nil {
			return fmt.Errorf("checking the secret key against the database: %w", err)
		}
		if sealed != "" {
			if _, err := box.Open(sealed); err != nil && !recorded(ctx, s) {
				return fmt.Errorf("%w: this database's channel secrets cannot be opened with %s (fingerprint %s); "+
					"start this process with the same PARLEY_SECRET_KEY as the process that connected the channels", ErrWrongKey, where, fp)
			}
		}
	}
	got, err := s.SettingEnsure(ctx, keyFingerprintSetting, fp)
	if err != nil {
		return fmt.Errorf("checking the secret key against the database: %w", err)
	}
	if got == fp {
		return nil
	}
	return fmt.Errorf("%w: this database's secrets were sealed with a secret key whose fingerprint is %s, but %s has fingerprint %s; "+
		"start this process with the same PARLEY_SECRET_KEY as the process that created the database (`parley key fingerprint` prints a key's fingerprint)",
		ErrWrongKey, got, where, fp)
}

// recorded reports whether the database already records a key fingerprint
// (whose mismatch message, naming both fingerprints, is then the clearer).
func recorded(ctx context.Context, s interface {
	SettingEnsure(ctx context.Context, name, value string) (string, error)
}) bool {
	g, ok := s.(interface {
		SettingGet(ctx context.Context, name string) (string, error)
	})
	if !ok {
		return false
	}
	v, err := g.SettingGet(ctx, keyFingerprintSetting)
	return err == nil && v != ""
}
