// Package benchdb gives a benchmark a PostgreSQL database of its own, so
// that runs never measure (or leave behind) each other's data.
package benchdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Fresh creates an empty database on the server base names and returns
// its URL (base's, with the new database) and a function that drops it.
func Fresh(ctx context.Context, base string) (string, func(), error) {
	// pgxpool's parser: base may carry pool settings (pool_max_conns),
	// which plain pgx would send to the server as runtime parameters.
	pc, err := pgxpool.ParseConfig(base)
	if err != nil {
		return "", nil, fmt.Errorf("reading the PostgreSQL URL: %w", err)
	}
	connect := func(ctx context.Context) (*pgx.Conn, error) { return pgx.ConnectConfig(ctx, pc.ConnConfig.Copy()) }
	admin, err := connect(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer admin.Close(ctx)
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	name := "parley_bench_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("creating the benchmark database: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := connect(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, "dropping the benchmark database:", err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintln(os.Stderr, "dropping the benchmark database:", err)
		}
	}
	return u.String(), drop, nil
}
