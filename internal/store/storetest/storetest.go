// Package storetest is the one conformance suite for store.Store, cut per
// aggregate like the store's interfaces: RunAccounts, RunTemplates,
// RunFlows, RunChannels, RunRuntime, RunQueue, RunTransactions and RunChannelLogs, one file
// each. Every implementation's tests run all of them and must pass, so
// SQLite and PostgreSQL behave the same.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// Opener returns a fresh, migrated, empty store for one test.
type Opener func(t *testing.T) store.Store

// test is one case of a suite: a fresh store for each.
type test struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// run runs tests in parallel, each against its own store from open.
func run(t *testing.T, open Opener, tests []test) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// seq makes IDs that sort in creation order, like UUIDv7 does.
type seq struct{ n atomic.Int64 }

func (s *seq) id() string { return fmt.Sprintf("0000-%012d", s.n.Add(1)) }

var t0 = time.Date(2026, 11, 21, 9, 30, 0, 123456000, time.UTC)

// must(call)(t) fails the test when call failed, and returns its value.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, err error, code domain.Code) {
	t.Helper()
	if domain.CodeOf(err) != code {
		t.Fatalf("got error %v (code %s), want code %s", err, domain.CodeOf(err), code)
	}
}

func runtimeProjects(t *testing.T, s store.Store) (string, string) {
	ctx := context.Background()
	must(s.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p1", Name: "One", Now: t0}))(t)
	must(s.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p2", Name: "Two", Now: t0}))(t)
	return "p1", "p2"
}

func twoProjects(t *testing.T, s store.Store) (string, string) {
	t.Helper()
	ctx := context.Background()
	must(s.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p1", Name: "One", Now: t0}))(t)
	must(s.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p2", Name: "Two", Now: t0}))(t)
	return "p1", "p2"
}

// jsonEqual compares documents by value: PostgreSQL's JSONB does not keep
// key order or spacing.
func jsonEqual(t *testing.T, got, want json.RawMessage) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("stored JSON %s does not parse: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want JSON %s does not parse: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("JSON = %s, want %s", got, want)
	}
}

// RunTransactions runs the suite of what Store adds to Queries: InTx
// rolling back, and AfterCommit.
func RunTransactions(t *testing.T, open Opener) {
	run(t, open, []test{
		{"TxRollback", testTxRollback},
		{"AfterCommit", testAfterCommit},
		{"ConcurrentIsolated", testTxConcurrentIsolated},
	})
}

// testTxConcurrentIsolated: many transactions at once (which the stores
// group into shared transactions, a savepoint each): every failing call
// gets its own error and leaves nothing behind, every other call's work
// and AfterCommit hooks are there once it returned nil.
func testTxConcurrentIsolated(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 120
	errs := make([]error, n)
	hooks := make([]atomic.Int32, n)
	done := make(chan struct{})
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			id := fmt.Sprintf("gc%03d", i)
			errs[i] = s.InTx(ctx, func(q store.Queries) error {
				if _, err := q.ProjectCreate(ctx, store.ProjectCreateParams{ID: id, Name: id, Now: t0}); err != nil {
					return err
				}
				q.AfterCommit(func() { hooks[i].Add(1) })
				switch i % 3 {
				case 1:
					return fmt.Errorf("call %d fails: %w", i, errBoom)
				case 2:
					// A failed statement (a duplicate) inside the call:
					// on PostgreSQL it aborts the transaction, which
					// only this call's savepoint may undo.
					_, err := q.ProjectCreate(ctx, store.ProjectCreateParams{ID: id, Name: id, Now: t0})
					return err
				}
				return nil
			})
		}()
	}
	for range n {
		<-done
	}
	for i := range n {
		id := fmt.Sprintf("gc%03d", i)
		_, getErr := s.ProjectGet(ctx, id)
		switch i % 3 {
		case 0:
			if errs[i] != nil || getErr != nil || hooks[i].Load() != 1 {
				t.Fatalf("call %d: InTx = %v, project read = %v, hooks run %d; want committed, hook run once", i, errs[i], getErr, hooks[i].Load())
			}
		case 1:
			if !errors.Is(errs[i], errBoom) || !strings.Contains(errs[i].Error(), fmt.Sprintf("call %d ", i)) {
				t.Fatalf("call %d: InTx = %v, want its own error", i, errs[i])
			}
		case 2:
			wantCode(t, errs[i], domain.CodeConflict)
		}
		if i%3 != 0 && (!errors.Is(getErr, store.ErrNotFound) || hooks[i].Load() != 0) {
			t.Fatalf("call %d failed but its project read = %v, hooks run %d", i, getErr, hooks[i].Load())
		}
	}
}

var errBoom = errors.New("boom")

func testTxRollback(t *testing.T, s store.Store) {
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.InTx(ctx, func(q store.Queries) error {
		if _, err := q.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p1", Name: "One", Now: t0}); err != nil {
			return err
		}
		if _, err := q.ProjectGet(ctx, "p1"); err != nil {
			return fmt.Errorf("read own write: %w", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx error = %v", err)
	}
	if _, err := s.ProjectGet(ctx, "p1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rolled-back project visible: %v", err)
	}
	if err := s.InTx(ctx, func(q store.Queries) error {
		_, err := q.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p1", Name: "One", Now: t0})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	must(s.ProjectGet(ctx, "p1"))(t)
}

// testAfterCommit: hooks run after the commit, never after a rollback,
// and at once outside a transaction.
func testAfterCommit(t *testing.T, s store.Store) {
	ctx := context.Background()
	ran := 0
	s.AfterCommit(func() { ran++ })
	if ran != 1 {
		t.Fatal("AfterCommit outside a transaction did not run at once")
	}
	err := s.InTx(ctx, func(q store.Queries) error {
		if _, err := q.ProjectCreate(ctx, store.ProjectCreateParams{ID: "pa", Name: "After", Now: t0}); err != nil {
			return err
		}
		q.AfterCommit(func() {
			ran++
			// The hook sees the committed row from outside the transaction.
			if _, err := s.ProjectGet(ctx, "pa"); err != nil {
				t.Errorf("hook ran before the commit was visible: %v", err)
			}
		})
		if ran != 1 {
			t.Error("hook ran inside the transaction")
		}
		return nil
	})
	check(t, err)
	if ran != 2 {
		t.Fatalf("hook ran %d times after the commit", ran-1)
	}
	boom := errors.New("boom")
	err = s.InTx(ctx, func(q store.Queries) error {
		q.AfterCommit(func() { ran++ })
		return boom
	})
	if !errors.Is(err, boom) || ran != 2 {
		t.Fatalf("rolled back: err=%v, hook runs=%d", err, ran-2)
	}
}
