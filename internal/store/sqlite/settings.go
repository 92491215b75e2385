package sqlite

import (
	"context"
	"fmt"
)

// SettingEnsure records value under name unless the database already has a
// value for it, and returns the value the database keeps.
func (s *Store) SettingEnsure(ctx context.Context, name, value string) (string, error) {
	if _, err := s.wdb.ExecContext(ctx, `INSERT INTO parley_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, value); err != nil {
		return "", fmt.Errorf("recording setting %s: %w", name, err)
	}
	var got string
	if err := s.wdb.QueryRowContext(ctx, `SELECT value FROM parley_settings WHERE name = ?`, name).Scan(&got); err != nil {
		return "", fmt.Errorf("reading setting %s: %w", name, err)
	}
	return got, nil
}
