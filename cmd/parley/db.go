package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/store/dbcopy"
)

func (c *cli) dbCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "db", Short: "Back up the database or move it to another one"}
	cmd.AddCommand(c.dbBackupCmd(), c.dbCopyCmd())
	return cmd
}

func (c *cli) dbCopyCmd() *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "copy [--from DATABASE] --to DATABASE",
		Short: "Copy this deployment's data into a new database of the other kind (SQLite ⇄ PostgreSQL)",
		Long: "copy moves a deployment between SQLite and PostgreSQL. DATABASE is a postgres:// URL or a SQLite file path; " +
			"--from defaults to the configured database (DATABASE_URL, else DATA_DIR/parley.db). Stop the server first. " +
			"Both databases are migrated, then every table (projects, users, tokens, channels and their sealed secrets, flows " +
			"and revisions, contacts, conversations, sessions, templates, datasets, campaigns, analytics, channel logs and the " +
			"job queue's pending jobs, the sessions' timers among them) is copied in one transaction and checked: the rows and " +
			"a checksum per table must match on both sides. The target must be empty (a PostgreSQL database) or new (a SQLite " +
			"file). Run the new database with the same secret key: it opens the channels' sealed secrets.",
		Example: "  parley db copy --to postgres://parley:secret@db.example.com:5432/parley\n" +
			"  parley db copy --from postgres://parley:secret@db.example.com:5432/parley --to ./parley-copy.db",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				return errors.New("--to DATABASE is required: a postgres:// URL or a new SQLite file path")
			}
			dst, err := dbcopy.ParseLocation(to)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			if from == "" {
				cfg, err := c.config(cmd)
				if err != nil {
					return err
				}
				if err := cfg.Finish(); err != nil {
					return err
				}
				from = cfg.SQLitePath()
				if cfg.UsesPostgres() {
					from = cfg.DatabaseURL
				}
			}
			src, err := dbcopy.ParseLocation(from)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			fmt.Fprintf(c.stdout, "copying %s (%s) to %s (%s)\n", src, src.Dialect, dst, dst.Dialect)
			tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TABLE\tSOURCE ROWS\tTARGET ROWS\tCHECKSUM\tSAME\tNOTE")
			res, err := dbcopy.Copy(cmd.Context(), dbcopy.Options{From: src, To: dst, Progress: func(t dbcopy.TableResult) {
				same := "yes"
				if t.Source != t.Target || t.Rows != t.TargetRows {
					same = "NO"
				}
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n", t.Table, t.Rows, t.TargetRows, t.Source, same, t.Note)
			}})
			tw.Flush()
			if err != nil {
				return err
			}
			var rows int64
			for _, t := range res.Tables {
				rows += t.Rows
			}
			for _, s := range res.Skipped {
				fmt.Fprintf(c.stdout, "not copied: %s (%s)\n", s.Table, s.Reason)
			}
			fmt.Fprintf(c.stdout, "copied %d tables, %d rows; counts and checksums match.\n", len(res.Tables), rows)
			if dst.Dialect == "postgres" {
				fmt.Fprintln(c.stdout, "next: start the server with DATABASE_URL set to the target and PARLEY_SECRET_KEY set to the key this deployment used "+
					"(the contents of DATA_DIR/secret.key unless PARLEY_SECRET_KEY was set; `parley key fingerprint` shows which).")
			} else {
				fmt.Fprintf(c.stdout, "next: put %s in a data directory as parley.db and start the server there with the same PARLEY_SECRET_KEY.\n", dst.DSN)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "database to copy: postgres:// URL or SQLite file (default: the configured database)")
	cmd.Flags().StringVar(&to, "to", "", "database to fill: postgres:// URL of an empty database, or a new SQLite file path")
	return cmd
}

func (c *cli) dbBackupCmd() *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "backup --to FILE",
		Short: "Write a consistent copy of the SQLite database to FILE while the server runs",
		Long: "backup writes a consistent snapshot of the embedded SQLite database (VACUUM INTO) to a new file, " +
			"safe to run while `parley serve` is running. Keep the secret key (PARLEY_SECRET_KEY or DATA_DIR/secret.key) " +
			"with it: the channels' tokens in it are sealed with that key. To restore, stop the server and put the file " +
			"in place as DATA_DIR/parley.db. On PostgreSQL use pg_dump instead (see docs/deploy.md).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				return errors.New("--to FILE is required")
			}
			cfg, err := c.config(cmd)
			if err != nil {
				return err
			}
			if err := cfg.Finish(); err != nil {
				return err
			}
			if cfg.UsesPostgres() {
				return errors.New("db backup copies the embedded SQLite database; for PostgreSQL use pg_dump (pg_dump --format=custom --file=parley.dump \"$DATABASE_URL\"), see docs/deploy.md")
			}
			if _, err := os.Stat(cfg.SQLitePath()); err != nil {
				return fmt.Errorf("no database to back up at %s: %w", cfg.SQLitePath(), err)
			}
			abs, err := filepath.Abs(to)
			if err != nil {
				return err
			}
			if _, err := os.Stat(abs); err == nil {
				return fmt.Errorf("--to %s: the file exists; choose a new name (backup never overwrites)", to)
			}
			s, err := app.OpenStore(cmd.Context(), cfg, cfg.Logger(c.stderr), &jobs.Bound[jobs.Deps]{}, false)
			if err != nil {
				return err
			}
			defer s.Close()
			db, ok := s.(interface{ DB() *sql.DB })
			if !ok {
				return errors.New("db backup: this store has no SQLite handle")
			}
			if _, err := db.DB().ExecContext(cmd.Context(), `VACUUM INTO ?`, abs); err != nil {
				return fmt.Errorf("backing up %s to %s: %w", cfg.SQLitePath(), abs, err)
			}
			if err := os.Chmod(abs, 0o600); err != nil {
				return err
			}
			if err := releaseLeadership(cmd.Context(), abs); err != nil {
				return err
			}
			st, err := os.Stat(abs)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "backed up %s to %s (%d bytes); keep the secret key with it\n", cfg.SQLitePath(), abs, st.Size())
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "file to write (must not exist)")
	return cmd
}

// releaseLeadership clears the job queue's leader lease the running server
// left in a backup: no server holds the copy, and `db copy` reads a live
// lease as a server still using the database.
func releaseLeadership(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return fmt.Errorf("opening the backup %s: %w", path, err)
	}
	defer db.Close()
	var has bool
	if err := db.QueryRowContext(ctx, `SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'river_leader'`).Scan(&has); err != nil {
		return fmt.Errorf("reading the backup %s: %w", path, err)
	}
	if !has {
		return nil
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM river_leader`); err != nil {
		return fmt.Errorf("clearing the job queue's leader lease in the backup %s: %w", path, err)
	}
	return nil
}
