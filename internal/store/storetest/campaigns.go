package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// RunCampaigns pins datasets, campaigns, executions and recipients: the
// recipient's key makes a row start once per campaign.
func RunCampaigns(t *testing.T, open Opener) {
	run(t, open, []test{
		{"DatasetLifecycle", testDatasetLifecycle},
		{"CampaignCRUD", testCampaignCRUD},
		{"ExecutionTakesRowsOnce", testExecutionTakesRowsOnce},
		{"RecipientsWaitForWindow", testRecipientsWait},
		{"ExecutionsEnded", testExecutionsEnded},
		{"ExecutionLockWaitsForStarts", testExecutionLock},
	})
}

// seedDataset stores a ready dataset of n rows; every third is invalid.
func seedDataset(t *testing.T, s store.Store, projectID, id string, n int) {
	ctx := context.Background()
	must(s.DatasetCreate(ctx, store.Dataset{ID: id, ProjectID: projectID, Name: id, Status: store.DatasetReady, Columns: []string{"phone", "name"},
		Mapping: store.DatasetMapping{PhoneColumn: "phone", Variables: map[string]string{"phone": "phone", "name": "name"}}, CreatedAt: t0, UpdatedAt: t0}))(t)
	rows := make([]store.DatasetRow, n)
	for i := range rows {
		rows[i] = store.DatasetRow{DatasetID: id, RowNum: int64(i + 1), Line: int64(i + 2), Cells: []string{fmt.Sprintf("+35191%07d", i), "N"},
			Status: store.RowValid, Phone: fmt.Sprintf("+35191%07d", i), Timezone: "Europe/Lisbon"}
		if i%3 == 2 {
			rows[i].Status, rows[i].Reason, rows[i].Phone = store.RowInvalidPhone, "too short", ""
		}
	}
	check(t, s.DatasetRowsInsert(ctx, rows))
}

func testDatasetLifecycle(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := runtimeProjects(t, s)
	seedDataset(t, s, p1, "d1", 1000)
	d := must(s.DatasetGet(ctx, store.Ref{ProjectID: p1, ID: "d1"}))(t)
	if d.Mapping.PhoneColumn != "phone" || len(d.Columns) != 2 {
		t.Fatalf("dataset read back as %+v", d)
	}
	if _, err := s.DatasetGet(ctx, store.Ref{ProjectID: p2, ID: "d1"}); domain.CodeOf(err) != domain.CodeNotFound {
		t.Fatalf("another project's dataset: %v", err)
	}
	d.Status, d.Counts = store.DatasetFailed, map[string]int64{"total": 1000}
	d.UpdatedAt = t0.Add(time.Minute)
	d = must(s.DatasetUpdate(ctx, d))(t)
	if d.Status != store.DatasetFailed || d.Counts["total"] != 1000 {
		t.Fatalf("update read back as %+v", d)
	}
	rows := must(s.DatasetRowList(ctx, store.DatasetRowListParams{DatasetID: "d1", Status: store.RowInvalidPhone, AfterRow: 3, Limit: 2}))(t)
	if len(rows) != 2 || rows[0].RowNum != 6 || rows[1].RowNum != 9 || rows[0].Reason != "too short" || rows[0].Cells[1] != "N" {
		t.Fatalf("invalid rows after 3: %+v", rows)
	}
	rows[0].Status, rows[0].Phone = store.RowValid, "+351910000005"
	check(t, s.DatasetRowsUpdate(ctx, rows[:1]))
	got := must(s.DatasetRowList(ctx, store.DatasetRowListParams{DatasetID: "d1", AfterRow: 5, Limit: 1}))(t)
	if got[0].Status != store.RowValid || got[0].Phone != "+351910000005" {
		t.Fatalf("row 6 after update: %+v", got[0])
	}
	l := must(s.DatasetList(ctx, store.DatasetListParams{ProjectID: p1}))(t)
	if len(l.Items) != 1 {
		t.Fatalf("list: %+v", l)
	}
	wantCode(t, s.DatasetDelete(ctx, store.Ref{ProjectID: p2, ID: "d1"}), domain.CodeNotFound)
	check(t, s.DatasetDelete(ctx, store.Ref{ProjectID: p1, ID: "d1"}))
	if got := must(s.DatasetRowList(ctx, store.DatasetRowListParams{DatasetID: "d1"}))(t); len(got) != 0 {
		t.Fatalf("rows survive their dataset: %d", len(got))
	}
}

func testCampaignCRUD(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := runtimeProjects(t, s)
	end := t0.Add(48 * time.Hour)
	c := must(s.CampaignCreate(ctx, store.Campaign{ID: "c1", ProjectID: p1, Name: "Spring", Status: store.CampaignDraft, FlowID: "f1",
		ChannelIDs: []string{"ch1"}, DatasetIDs: []string{"d1"}, EndAt: &end, CreatedAt: t0, UpdatedAt: t0}))(t)
	if c.Version != 1 || c.EndAt == nil || !c.EndAt.Equal(end) || c.StartAt != nil || c.ChannelIDs[0] != "ch1" {
		t.Fatalf("created %+v", c)
	}
	c.Name, c.Status = "Spring 2", store.CampaignActive
	c2 := must(s.CampaignUpdate(ctx, c))(t)
	if c2.Version != 2 || c2.Name != "Spring 2" {
		t.Fatalf("updated %+v", c2)
	}
	_, err := s.CampaignUpdate(ctx, c) // stale version
	wantCode(t, err, domain.CodeConflict)
	_, err = s.CampaignGet(ctx, store.Ref{ProjectID: p2, ID: "c1"})
	wantCode(t, err, domain.CodeNotFound)
	if l := must(s.CampaignList(ctx, store.CampaignListParams{ProjectID: p1}))(t); len(l.Items) != 1 {
		t.Fatalf("list %+v", l)
	}
	check(t, s.CampaignDelete(ctx, store.Ref{ProjectID: p1, ID: "c1"}))
	wantCode(t, s.CampaignDelete(ctx, store.Ref{ProjectID: p1, ID: "c1"}), domain.CodeNotFound)
}

// createExecution creates an execution and takes its rows, 7 at a time.
func createExecution(t *testing.T, s store.Store, e store.Execution) store.Execution {
	t.Helper()
	out := must(s.ExecutionCreate(context.Background(), store.ExecutionCreateParams{Execution: e}))(t)
	if out.TakeCursor != 0 || out.Taken {
		t.Fatalf("a new execution has taken rows: %+v", out)
	}
	return takeChunks(t, s, out, -1)
}

// takeChunks takes n chunks of 7 rows of e (all of them when n < 0); its
// Total, counted at its creation, must not move.
func takeChunks(t *testing.T, s store.Store, e store.Execution, n int) store.Execution {
	t.Helper()
	ctx := context.Background()
	out := e
	for ; !out.Taken && n != 0; n-- {
		check(t, s.InTx(ctx, func(q store.Queries) error {
			var err error
			out, err = q.ExecutionTake(ctx, store.ExecutionTakeParams{ProjectID: e.ProjectID, ID: e.ID, Limit: 7})
			return err
		}))
		if out.Total != e.Total {
			t.Fatalf("taking rows moved the execution's total from %d to %d", e.Total, out.Total)
		}
	}
	return out
}

func newExecution(id, projectID string, at time.Time) store.Execution {
	return store.Execution{ID: id, ProjectID: projectID, CampaignID: "c1", DatasetID: "d1", Status: store.ExecutionRunning,
		Settings: store.ExecutionSettings{BatchSize: 10}, NextBatchAt: at, CreatedAt: at, UpdatedAt: at}
}

func testExecutionTakesRowsOnce(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, _ := runtimeProjects(t, s)
	seedDataset(t, s, p1, "d1", 30) // 20 valid
	must(s.CampaignCreate(ctx, store.Campaign{ID: "c1", ProjectID: p1, Name: "C", Status: store.CampaignDraft, CreatedAt: t0, UpdatedAt: t0}))(t)
	// Its 20 valid rows are counted at once; one chunk of 7 is taken
	// (5 of them valid), the way the runner takes rows just ahead of
	// their starts.
	e1 := must(s.ExecutionCreate(ctx, store.ExecutionCreateParams{Execution: newExecution("e1", p1, t0)}))(t)
	if e1.Total != 20 || e1.Status != store.ExecutionRunning || e1.Taken {
		t.Fatalf("execution 1: %+v", e1)
	}
	e1 = takeChunks(t, s, e1, 1)
	if e1.Taken || e1.TakeCursor != 7 {
		t.Fatalf("execution 1 after a chunk: %+v", e1)
	}
	due := must(s.ExecutionsDue(ctx, t0))(t)
	if len(due) != 1 || due[0].ID != "e1" {
		t.Fatalf("due executions: %+v", due)
	}
	rs := must(s.RecipientsDue(ctx, store.RecipientsDueParams{ProjectID: p1, ExecutionID: "e1", Now: t0, Limit: 5}))(t)
	if len(rs) != 5 || rs[0].RowNum != 1 || rs[2].RowNum != 4 || rs[0].Timezone != "Europe/Lisbon" {
		t.Fatalf("due recipients: %+v", rs)
	}
	claim := func(row int64) bool {
		var ok bool
		check(t, s.InTx(ctx, func(q store.Queries) error {
			var err error
			ok, err = q.RecipientClaim(ctx, store.RecipientClaimParams{CampaignID: "c1", DatasetID: "d1", RowNum: row, Status: store.RecipientStarted,
				ContactID: "x", SessionID: fmt.Sprintf("s%d", row), Now: t0})
			return err
		}))
		return ok
	}
	for _, r := range rs {
		if !claim(r.RowNum) {
			t.Fatalf("first claim of row %d refused", r.RowNum)
		}
		if claim(r.RowNum) {
			t.Fatalf("row %d claimed twice", r.RowNum)
		}
	}
	check(t, s.ExecutionCountStarts(ctx, store.ExecutionCountParams{ProjectID: p1, ID: "e1", Started: 5, Now: t0}))
	// A claim rolled back leaves the row to take.
	_ = s.InTx(ctx, func(q store.Queries) error {
		_, _ = q.RecipientClaim(ctx, store.RecipientClaimParams{CampaignID: "c1", DatasetID: "d1", RowNum: 8, Status: store.RecipientStarted, Now: t0})
		return fmt.Errorf("rolled back")
	})
	// A second chunk (rows 8–14, 5 valid) is taken; rows 15–30 are not
	// when the execution stops.
	e1 = takeChunks(t, s, e1, 1)
	counts := must(s.RecipientCounts(ctx, store.Ref{ProjectID: p1, ID: "e1"}))(t)
	if counts[store.RecipientStarted] != 5 || counts[store.RecipientQueued] != 5 {
		t.Fatalf("counts after 5 starts and two chunks: %v", counts)
	}
	e1.Status = store.ExecutionStopped
	e1.UpdatedAt = t0.Add(time.Second)
	must(s.ExecutionUpdate(ctx, e1))(t)
	// Starts committed after the stop are refused, and their transaction
	// (with its claim) rolls back.
	err := s.InTx(ctx, func(q store.Queries) error {
		if _, err := q.RecipientClaim(ctx, store.RecipientClaimParams{CampaignID: "c1", DatasetID: "d1", RowNum: 9, Status: store.RecipientStarted, Now: t0}); err != nil {
			return err
		}
		return q.ExecutionCountStarts(ctx, store.ExecutionCountParams{ProjectID: p1, ID: "e1", Started: 1, Now: t0})
	})
	if domain.CodeOf(err) != domain.CodeConflict {
		t.Fatalf("a start counted on a stopped execution: %v, want a conflict", err)
	}
	// A later execution takes exactly the 15 rows left, none started: the
	// 5 the first one took and left queued, and the 10 it never took.
	e2 := createExecution(t, s, newExecution("e2", p1, t0.Add(time.Minute)))
	if e2.Total != 15 {
		t.Fatalf("execution 2 counts %d rows, want 15", e2.Total)
	}
	if counts := must(s.RecipientCounts(ctx, store.Ref{ProjectID: p1, ID: "e2"}))(t); counts[store.RecipientQueued] != 15 || len(counts) != 1 {
		t.Fatalf("execution 2's recipients: %v", counts)
	}
	got := must(s.ExecutionGet(ctx, store.Ref{ProjectID: p1, ID: "e1"}))(t)
	if got.Started != 5 || got.Status != store.ExecutionStopped {
		t.Fatalf("execution 1 after stop: %+v", got)
	}
	all := must(s.RecipientList(ctx, store.RecipientListParams{ProjectID: p1, CampaignID: "c1", Limit: 100}))(t)
	if len(all) != 20 {
		t.Fatalf("campaign has %d recipients, want 20", len(all))
	}
	if l := must(s.ExecutionList(ctx, store.ExecutionListParams{ProjectID: p1, CampaignID: "c1"}))(t); len(l.Items) != 2 || l.Items[0].ID != "e2" {
		t.Fatalf("executions: %+v", l.Items)
	}
	wantCode(t, s.DatasetDelete(ctx, store.Ref{ProjectID: p1, ID: "d1"}), domain.CodeConflict)
	st := must(s.ExecutionMessageStats(ctx, store.Ref{ProjectID: p1, ID: "e2"}))(t)
	if len(st.Outbound) != 0 || st.RepliedContacts != 0 {
		t.Fatalf("stats of an execution with no sends: %+v", st)
	}
}

func testRecipientsWait(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, _ := runtimeProjects(t, s)
	seedDataset(t, s, p1, "d1", 6) // rows 1, 2, 4, 5 valid
	must(s.CampaignCreate(ctx, store.Campaign{ID: "c1", ProjectID: p1, Name: "C", Status: store.CampaignDraft, CreatedAt: t0, UpdatedAt: t0}))(t)
	createExecution(t, s, newExecution("e1", p1, t0))
	check(t, s.RecipientsWait(ctx, store.RecipientsWaitParams{CampaignID: "c1", DatasetID: "d1", Rows: []int64{1, 4}, NotBefore: t0.Add(time.Hour)}))
	rs := must(s.RecipientsDue(ctx, store.RecipientsDueParams{ProjectID: p1, ExecutionID: "e1", Now: t0, Limit: 10}))(t)
	if len(rs) != 2 || rs[0].RowNum != 2 || rs[1].RowNum != 5 {
		t.Fatalf("due before the window: %+v", rs)
	}
	rs = must(s.RecipientsDue(ctx, store.RecipientsDueParams{ProjectID: p1, ExecutionID: "e1", Now: t0.Add(time.Hour), Limit: 10}))(t)
	if len(rs) != 4 || rs[0].Status != store.RecipientWaiting || rs[0].NotBefore == nil || !rs[0].NotBefore.Equal(t0.Add(time.Hour)) {
		t.Fatalf("due once the window opened: %+v", rs)
	}
	// Queued and waiting rows merge in row order under the limit.
	rs = must(s.RecipientsDue(ctx, store.RecipientsDueParams{ProjectID: p1, ExecutionID: "e1", Now: t0.Add(time.Hour), Limit: 3}))(t)
	if len(rs) != 3 || rs[0].RowNum != 1 || rs[1].RowNum != 2 || rs[2].RowNum != 4 {
		t.Fatalf("due with a limit of 3: %+v", rs)
	}
	counts := must(s.RecipientCounts(ctx, store.Ref{ProjectID: p1, ID: "e1"}))(t)
	if counts[store.RecipientWaiting] != 2 {
		t.Fatalf("counts: %v", counts)
	}
}

// testExecutionsEnded: paused executions are listed once their campaign's
// end date is reached; running ones, and campaigns without an end or
// ending later, are not.
func testExecutionsEnded(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, _ := runtimeProjects(t, s)
	seedDataset(t, s, p1, "d1", 3)
	end := t0.Add(time.Hour)
	for _, c := range []struct {
		id  string
		end *time.Time
	}{{"c1", &end}, {"c2", nil}} {
		must(s.CampaignCreate(ctx, store.Campaign{ID: c.id, ProjectID: p1, Name: c.id, Status: store.CampaignDraft, EndAt: c.end, CreatedAt: t0, UpdatedAt: t0}))(t)
	}
	e1 := createExecution(t, s, newExecution("e1", p1, t0)) // c1, running
	if got := must(s.ExecutionsEnded(ctx, end))(t); len(got) != 0 {
		t.Fatalf("a running execution listed as ended: %+v", got)
	}
	e1.Status = store.ExecutionPaused
	must(s.ExecutionUpdate(ctx, e1))(t)
	if got := must(s.ExecutionsEnded(ctx, end.Add(-time.Second)))(t); len(got) != 0 {
		t.Fatalf("listed before the end date: %+v", got)
	}
	got := must(s.ExecutionsEnded(ctx, end))(t)
	if len(got) != 1 || got[0].ID != "e1" || got[0].CampaignID != "c1" || got[0].Status != store.ExecutionPaused {
		t.Fatalf("ended executions at the end date: %+v", got)
	}
}

// testExecutionLock: a pause that locks the execution counts the rows of a
// start transaction that counted itself before the pause but had not
// committed yet (on PostgreSQL an unlocked read misses them), and a start
// after the pause is refused.
func testExecutionLock(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, _ := runtimeProjects(t, s)
	seedDataset(t, s, p1, "d1", 6) // rows 1, 2, 4, 5 valid
	must(s.CampaignCreate(ctx, store.Campaign{ID: "c1", ProjectID: p1, Name: "C", Status: store.CampaignDraft, CreatedAt: t0, UpdatedAt: t0}))(t)
	createExecution(t, s, newExecution("e1", p1, t0))
	start := func(q store.Queries, row int64) error {
		if _, err := q.RecipientClaim(ctx, store.RecipientClaimParams{CampaignID: "c1", DatasetID: "d1", RowNum: row, Status: store.RecipientStarted,
			ContactID: "x", SessionID: fmt.Sprintf("s%d", row), Now: t0}); err != nil {
			return err
		}
		return q.ExecutionCountStarts(ctx, store.ExecutionCountParams{ProjectID: p1, ID: "e1", Started: 1, Now: t0})
	}
	counted, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.InTx(ctx, func(q store.Queries) error {
			err := start(q, 1)
			select {
			case <-counted:
			default:
				close(counted)
			}
			time.Sleep(300 * time.Millisecond) // the pause begins meanwhile
			return err
		})
	}()
	<-counted
	var seen int64
	check(t, s.InTx(ctx, func(q store.Queries) error {
		e, err := q.ExecutionLock(ctx, store.Ref{ProjectID: p1, ID: "e1"})
		if err != nil {
			return err
		}
		counts, err := q.RecipientCounts(ctx, store.Ref{ProjectID: p1, ID: "e1"})
		if err != nil {
			return err
		}
		seen = counts[store.RecipientStarted]
		e.Status = store.ExecutionPaused
		_, err = q.ExecutionUpdate(ctx, e)
		return err
	}))
	check(t, <-done)
	if seen != 1 {
		t.Fatalf("the pause counted %d started rows, want the 1 whose transaction counted itself before the pause", seen)
	}
	wantCode(t, s.InTx(ctx, func(q store.Queries) error { return start(q, 2) }), domain.CodeConflict)
	if got := must(s.ExecutionGet(ctx, store.Ref{ProjectID: p1, ID: "e1"}))(t); got.Started != 1 || got.Status != store.ExecutionPaused {
		t.Fatalf("after the pause: started %d, status %s; want 1, paused", got.Started, got.Status)
	}
	wantCode(t, func() error { _, err := s.ExecutionLock(ctx, store.Ref{ProjectID: p1, ID: "nope"}); return err }(), domain.CodeNotFound)
}
