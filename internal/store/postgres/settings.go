package postgres

import (
	"context"
	"fmt"
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
