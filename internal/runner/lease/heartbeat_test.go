package lease_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/runner/lease"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/testdb"
)

// TestHeartbeatKeepsWhatIsHeld: the rows a live process holds stay its
// own past their first lease while the heartbeat runs; a row it does not
// hold (its process died) falls due to any poller after one lease; once the
// heartbeat stops, the held row falls due a lease after the last beat
// (the store's suite checks a lease that ran out is not renewed).
// Runs on PostgreSQL with TEST_DATABASE_URL, else SQLite.
func TestHeartbeatKeepsWhatIsHeld(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testdb.Open(t, store.OpenOptions{})
	clock := domain.SystemClock{}
	if _, err := st.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p1", Name: "One", Now: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	const leaseFor = 2 * time.Second
	start := clock.Now()
	for _, c := range []string{"held", "orphan"} {
		if _, _, err := st.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: "p1", Scheme: "whatsapp", Path: c, NewID: c, Now: start}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.ContactEventAppend(ctx, domain.ContactEvent{ProjectID: "p1", ContactID: c, Kind: domain.EventMessage,
			CreatedAt: start, DueAt: start.Add(leaseFor)}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	renewed := 0
	hb := lease.NewHeartbeat(lease.HeartbeatConfig{Name: "inbox", Clock: clock,
		Settings: lease.Settings{Lease: leaseFor, RenewEvery: 50 * time.Millisecond},
		Held:     func() []string { return []string{"held"} },
		Renew: func(ctx context.Context, p store.RenewParams) (int, error) {
			n, err := st.ContactEventsRenew(ctx, p)
			mu.Lock()
			renewed += n
			mu.Unlock()
			return n, err
		}})
	if err := hb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	due := func(at time.Time) []string {
		t.Helper()
		refs, err := st.ContactEventsDue(ctx, store.DueParams{Now: at, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range refs {
			ids = append(ids, r.ID)
		}
		sort.Strings(ids)
		return ids
	}
	// Wait past the first lease (by wall clock: the heartbeat beats by it).
	time.Sleep(time.Until(start.Add(leaseFor + 500*time.Millisecond)))
	if got := due(clock.Now()); len(got) != 1 || got[0] != "orphan" {
		t.Errorf("due a lease after queueing = %v, want only the orphan (the held contact is renewed)", got)
	}
	hb.Stop()
	stopped := clock.Now()
	mu.Lock()
	if renewed == 0 {
		t.Error("the heartbeat renewed nothing")
	}
	mu.Unlock()
	if got := due(stopped.Add(leaseFor + time.Millisecond)); len(got) != 2 {
		t.Errorf("due a lease after the heartbeat stopped = %v, want both", got)
	}
}

// fixedClock is a clock that stays at one instant.
type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

// TestBeatSparesFreshLeases checks what a beat asks the store to renew:
// leases until a whole lease from now, except those claimed within the last
// half beat, which outlive two missed beats as they are.
func TestBeatSparesFreshLeases(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name        string
		settings    lease.Settings
		until, mark time.Duration
	}{
		{"defaults", lease.Settings{}, lease.DefaultLease, lease.DefaultLease - lease.DefaultLease/6},
		{"a beat a third of the lease", lease.Settings{Lease: 9 * time.Second, RenewEvery: 3 * time.Second}, 9 * time.Second, 7500 * time.Millisecond},
		{"beats more often", lease.Settings{Lease: 9 * time.Second, RenewEvery: time.Second}, 9 * time.Second, 8500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got store.RenewParams
			hb := lease.NewHeartbeat(lease.HeartbeatConfig{Name: "inbox", Clock: fixedClock(now), Settings: tc.settings,
				Held: func() []string { return []string{"c1"} },
				Renew: func(_ context.Context, p store.RenewParams) (int, error) {
					got = p
					return 1, nil
				}})
			if _, err := hb.Beat(context.Background()); err != nil {
				t.Fatal(err)
			}
			if !got.Until.Equal(now.Add(tc.until)) || !got.Fresh.Equal(now.Add(tc.mark)) {
				t.Errorf("beat renews until +%v sparing leases from +%v, want until +%v sparing from +%v",
					got.Until.Sub(now), got.Fresh.Sub(now), tc.until, tc.mark)
			}
			// Two missed beats later, a spared lease still holds.
			if beats := got.Fresh.Sub(now); beats <= 2*got.Until.Sub(now)/3 {
				t.Errorf("a spared lease runs +%v, not past two missed beats", beats)
			}
		})
	}
}
