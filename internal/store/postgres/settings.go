package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SettingEnsure records value under name unless the database already has a
// value for it, and returns the value the database keeps. Processes starting
// together agree: the first insert wins and every one reads it back.
func (s *Store) SettingEnsure(ctx context.Context, name, value string) (string, error) {
	if _, err := s.pool.Exec(ctx, `INSERT INTO parley_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, value); err != nil {
		return "", fmt.Errorf("recording setting %s: %w", name, err)
	}
	var got string
	if err := s.pool.QueryRow(ctx, `SELECT value FROM parley_settings WHERE name = $1`, name).Scan(&got); err != nil {
		return "", fmt.Errorf("reading setting %s: %w", name, err)
	}
	return got, nil
}

// SealedSample returns one channel's sealed secrets, or "" when no channel
// has any: a key can be tried on it before the database records which key
// it uses (databases made before the fingerprint was recorded).
func (s *Store) SealedSample(ctx context.Context) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT secrets FROM channels WHERE secrets <> '' ORDER BY id LIMIT 1`).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading a sealed secret: %w", err)
	}
	return v, nil
}

// SettingGet returns the value recorded under name, or "" when none is.
func (s *Store) SettingGet(ctx context.Context, name string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM parley_settings WHERE name = $1`, name).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading setting %s: %w", name, err)
	}
	return v, nil
}
