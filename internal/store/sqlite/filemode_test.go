package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// TestFilesArePrivate checks the database and its -wal and -shm files are
// created 0600, like secret.key, even under a permissive umask, and that a
// file an older version left 0644 is tightened on open.
func TestFilesArePrivate(t *testing.T) {
	// Not parallel: the umask is per process.
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	for _, tt := range []struct {
		name     string
		existing bool
	}{{"new database", false}, {"existing 0644 database", true}} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "parley.db")
			if tt.existing {
				if err := os.WriteFile(path, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ctx := context.Background()
			s, err := sqlite.Open(ctx, path, store.OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				st, err := os.Stat(p)
				if err != nil {
					t.Fatalf("%s: %v", filepath.Base(p), err)
				}
				if st.Mode().Perm() != 0o600 {
					t.Errorf("%s has mode %o, want 600", filepath.Base(p), st.Mode().Perm())
				}
			}
		})
	}
}
