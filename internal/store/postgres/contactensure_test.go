package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/testdb"
)

// TestContactEnsureConcurrentFirstMessage makes one address's contact from
// two transactions at once, the second started while the first has made
// the rows and not committed: two first messages from one phone reaching
// two webhooks (two processes, so two stores). The address's primary key
// must make the second wait and take the first's contact, as the advisory
// lock did: one contact, one row per address, no error. Without the lock
// and without ON CONFLICT the second fails on the unique index.
func TestContactEnsureConcurrentFirstMessage(t *testing.T) {
	t.Parallel()
	testdb.PostgresURL(t) // skips without TEST_DATABASE_URL
	for _, tc := range []struct {
		name              string
		inbound, verified bool
		urns              int
	}{
		{"inbound with verified phone", true, true, 2},
		{"inbound", true, false, 1},
		{"not inbound (a flow started for a phone)", false, true, 2},
		{"not inbound, no phone", false, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := testdb.PostgresURL(t)
			open := func() *postgres.Store {
				s, err := postgres.Open(ctx, url, store.OpenOptions{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			a, b := open(), open()
			if err := a.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := a.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p1", Name: "One", Now: time.Now()}); err != nil {
				t.Fatal(err)
			}
			params := func(id string) store.ContactEnsureParams {
				return store.ContactEnsureParams{ProjectID: "p1", Scheme: "whatsapp", Path: "351910000000", ChannelID: "ch", NewID: id,
					Name: "Ann", Phone: "+351910000000", PhoneVerified: tc.verified, Inbound: tc.inbound, Now: time.Now()}
			}
			made, proceed, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
			// Registered after the stores' cleanups, so run before them: a
			// failed test lets the first transaction end before Close.
			release := sync.OnceFunc(func() { close(proceed) })
			t.Cleanup(release)
			go func() {
				done <- a.InTx(ctx, func(q store.Queries) error {
					c, created, err := q.ContactEnsure(ctx, params("first"))
					if err == nil && (!created || c.ID != "first") {
						t.Errorf("first ensure = %s (created %v), want a new contact first", c.ID, created)
					}
					close(made)
					<-proceed // the second transaction's ensure is under way meanwhile
					return err
				})
			}()
			<-made
			second := make(chan error, 1)
			var c domain.Contact
			var created bool
			go func() {
				second <- b.InTx(ctx, func(q store.Queries) error {
					var err error
					c, created, err = q.ContactEnsure(ctx, params("second"))
					return err
				})
			}()
			select {
			case err := <-second:
				t.Fatalf("the second ensure finished before the first transaction committed: %v (contact %s)", err, c.ID)
			case <-time.After(300 * time.Millisecond):
			}
			release()
			if err := <-done; err != nil {
				t.Fatalf("first transaction: %v", err)
			}
			if err := <-second; err != nil {
				t.Fatalf("second transaction: %v", err)
			}
			if created || c.ID != "first" {
				t.Fatalf("second ensure = %s (created %v), want the first's contact", c.ID, created)
			}
			pool, err := pgxpool.New(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			var contacts, urns int
			if err := pool.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM contacts), (SELECT COUNT(*) FROM contact_urns WHERE contact_id = 'first')`).Scan(&contacts, &urns); err != nil {
				t.Fatal(err)
			}
			if contacts != 1 || urns != tc.urns {
				t.Fatalf("%d contacts and %d addresses, want 1 and %d", contacts, urns, tc.urns)
			}
		})
	}
}
