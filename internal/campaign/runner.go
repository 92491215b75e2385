package campaign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

const (
	// staleStats is the age after which an execution's counts are
	// recomputed.
	staleStats = 2 * time.Second
	// txRows are the rows started per transaction.
	txRows = 50
	// takeRows are the dataset rows an execution takes per transaction,
	// when its taken rows run low: at SQLite's ~100,000 row writes a second
	// the writer is held ~50 ms, once per 5,000 starts.
	takeRows = 5_000
	// idleRecheck is when an execution with only rows waiting for their
	// window looks again.
	idleRecheck = 15 * time.Second
	// recentSends is the window of the failure-rate check; minSends the
	// fewest sends it judges on.
	recentSends = 100
	minSends    = 20
)

// qualityCodes are Meta's errors that pause a campaign at once: the
// number's quality dropped or a messaging limit was hit.
var qualityCodes = map[string]string{
	"131048": "Meta limited the number for spam (131048)",
	"131056": "too many messages to the same recipient pair (131056)",
	"130497": "the business account may not message this country (130497)",
	"131049": "Meta held back messages to protect the ecosystem (131049)",
	// The account cannot send business-initiated messages until someone
	// acts: sending on would fail every row.
	"131042": "the business account has an eligibility or payment problem (131042)",
	"131031": "the business account is locked (131031)",
	"368":    "the account is temporarily blocked for policy violations (368)",
}

// Runner starts the rows of running executions in batches. It is a
// background service: Start, Stop.
type Runner struct {
	s      *Service
	kick   chan struct{}
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	// last remembers each execution's previous count of started rows, for
	// the rate.
	last sync.Map // execution ID → rateMark
	// checked remembers when each execution's sends were last judged and
	// what that cost; counted the same for its counts.
	checked, counted sync.Map // execution ID → mark
	// endChecked is when paused executions were last checked for their
	// campaign's end date (only the loop's goroutine uses it).
	endChecked time.Time
	// soonest is the earliest next batch a pass of RunDue scheduled, so
	// the loop wakes then instead of at its next tick (zero: none).
	soonestMu sync.Mutex
	soonest   time.Time
}

// endCheckEvery is how often paused executions are checked for their
// campaign's end date.
const endCheckEvery = 5 * time.Second

// endReason is the status reason of an execution its end date completed.
const endReason = "the campaign's end date passed; rows not started stay queued"

// checkEvery is how often an execution's recent sends are judged at
// most (the query reads the messages of its last 2,000 started rows).
const checkEvery = time.Second

// costShare: a periodic scan of an execution (its failure check, its
// counts) waits at least costShare times its last duration before it
// runs again, so that as a million-row execution grows these scans take
// at most a twentieth of one core each (two of them: a tenth in all),
// never the runner's whole loop.
const costShare = 20

// mark is when a periodic scan last ran and how long it took.
type mark struct {
	at   time.Time
	cost time.Duration
}

// due reports whether the scan noted in m for id is due at now, at most
// every min and at most costShare times its last cost.
func due(m *sync.Map, id string, now time.Time, every time.Duration) bool {
	v, ok := m.Load(id)
	if !ok {
		return true
	}
	last := v.(mark)
	return now.Sub(last.at) >= max(every, costShare*last.cost)
}

// ran notes that the scan in m for id ran at at (the clock's time) and
// took cost (real time).
func ran(m *sync.Map, id string, at time.Time, cost time.Duration) {
	m.Store(id, mark{at: at, cost: cost})
}

type rateMark struct {
	at      time.Time
	started int64
}

func newRunner(s *Service) *Runner {
	return &Runner{s: s, kick: make(chan struct{}, 1)}
}

// Start runs the loop until Stop.
func (r *Runner) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		return errors.New("campaign runner already started")
	}
	ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	r.done = make(chan struct{})
	go r.loop(ctx)
	return nil
}

// Stop ends the loop and waits for the batch in progress.
func (r *Runner) Stop() {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.cancel = nil
	r.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (r *Runner) wake() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *Runner) loop(ctx context.Context) {
	defer close(r.done)
	// A timer, not a ticker: the loop wakes when the next batch is due
	// (as soon as a pass ends, when it is already late), else after a
	// tick. Waiting for a ticker made each execution run at most one
	// batch per tick, so a pass that overran a tick lost a batch for good
	// and a paced execution fell below its rate.
	t := time.NewTimer(r.s.d.Tick)
	defer t.Stop()
	for {
		r.soonestMu.Lock()
		r.soonest = time.Time{}
		r.soonestMu.Unlock()
		if err := r.RunDue(ctx); err != nil && ctx.Err() == nil {
			r.s.d.Logger.Warn("running campaign batches", "err", err)
		}
		r.soonestMu.Lock()
		wait := nextWait(r.s.d.Clock.Now(), r.soonest, r.s.d.Tick)
		r.soonestMu.Unlock()
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.kick:
		}
	}
}

// nextWait is how long the loop sleeps after a pass at now: until the
// soonest batch the pass planned (at once when that is past), at most a
// tick (zero soonest: none planned).
func nextWait(now, soonest time.Time, tick time.Duration) time.Duration {
	if soonest.IsZero() {
		return tick
	}
	return min(tick, max(0, soonest.Sub(now)))
}

// RunDue runs one batch of every execution that is due.
func (r *Runner) RunDue(ctx context.Context) error {
	now := r.s.d.Clock.Now()
	due, err := r.s.d.Store.ExecutionsDue(ctx, now)
	if err != nil {
		return err
	}
	var errs []error
	// A paused execution is never due, yet the end date completes it too.
	if now.Sub(r.endChecked) >= endCheckEvery {
		r.endChecked = now
		ended, err := r.s.d.Store.ExecutionsEnded(ctx, now)
		if err != nil {
			errs = append(errs, err)
		}
		for _, e := range ended {
			if err := r.end(ctx, e); err != nil {
				errs = append(errs, fmt.Errorf("execution %s: %w", e.ID, err))
			}
		}
	}
	for _, e := range due {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := r.step(ctx, e); err != nil {
			errs = append(errs, fmt.Errorf("execution %s: %w", e.ID, err))
		}
	}
	return errors.Join(errs...)
}

// step runs one batch of e.
func (r *Runner) step(ctx context.Context, e store.Execution) error {
	s := r.s
	now := s.d.Clock.Now()
	c, err := s.d.Store.CampaignGet(ctx, store.Ref{ProjectID: e.ProjectID, ID: e.CampaignID})
	if err != nil {
		return err
	}
	if c.EndAt != nil && !now.Before(*c.EndAt) {
		return r.finish(ctx, e, store.ExecutionCompleted, endReason)
	}
	if c.StartAt != nil && now.Before(*c.StartAt) {
		// Through schedule, not a write of e: a pause committed since e
		// was read must not be overwritten with "running".
		return r.schedule(ctx, e, *c.StartAt)
	}
	if due(&r.checked, e.ID, now, checkEvery) {
		began := time.Now() // the cost is real time, whatever the clock
		reason, err := r.failing(ctx, e)
		ran(&r.checked, e.ID, now, time.Since(began))
		if err != nil {
			return err
		} else if reason != "" {
			return r.finish(ctx, e, store.ExecutionPaused, "paused automatically: "+reason)
		}
	}
	rows, err := r.nextBatch(ctx, &e, now)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		counts, err := s.d.Store.RecipientCounts(ctx, store.Ref{ProjectID: e.ProjectID, ID: e.ID})
		if err != nil {
			return err
		}
		if !e.Taken {
			return r.schedule(ctx, e, now) // more rows to take at once
		}
		if counts[store.RecipientQueued]+counts[store.RecipientWaiting] == 0 {
			return r.finish(ctx, e, store.ExecutionCompleted, "every row was started")
		}
		return r.schedule(ctx, e, now.Add(idleRecheck))
	}
	ds, err := s.d.Store.DatasetGet(ctx, store.Ref{ProjectID: e.ProjectID, ID: e.DatasetID})
	if err != nil {
		return fmt.Errorf("loading the execution's dataset: %w", err)
	}
	channels, err := r.channels(ctx, c)
	if err != nil {
		return err
	}
	if len(channels) == 0 {
		return r.finish(ctx, e, store.ExecutionPaused, "paused automatically: the campaign has no channel left; assign one and resume")
	}
	// Rows outside their window wait for it.
	w := windowOf(e.Settings.SendWindow)
	var start []store.Recipient
	waits := map[time.Time][]int64{}
	for _, x := range rows {
		if at := w.next(now, zone(x.Timezone)); at.After(now) {
			waits[at] = append(waits[at], x.RowNum)
			continue
		}
		start = append(start, x)
	}
	for at, nums := range waits {
		if err := s.d.Store.RecipientsWait(ctx, store.RecipientsWaitParams{CampaignID: e.CampaignID, DatasetID: e.DatasetID, Rows: nums, NotBefore: at}); err != nil {
			return err
		}
	}
	started, err := r.start(ctx, e, c, ds, channels, start)
	if err != nil {
		var de *domain.Error
		if errors.As(err, &de) && de.Code == domain.CodeConflict {
			return r.finish(ctx, e, store.ExecutionPaused, "paused automatically: "+de.Message)
		}
		return err
	}
	// Pace: the batch delay, or longer if the channels cannot send this
	// many messages in it (one message per start, at least).
	delay := time.Duration(e.Settings.BatchDelaySeconds * float64(time.Second))
	if rate := r.rate(ctx, channels); rate > 0 && started > 0 {
		if paced := time.Duration(float64(started) / rate * float64(time.Second)); paced > delay {
			delay = paced
		}
	}
	// From the planned time, not from now: the loop's tick and this batch's
	// work then do not slow the pace (a backlog of more than a second is
	// dropped rather than made up in a burst).
	base := e.NextBatchAt
	if now.Sub(base) > time.Second || base.After(now) {
		base = now
	}
	return r.schedule(ctx, e, base.Add(delay))
}

// nextBatch lists e's next batch, taking the next chunk of the dataset's rows
// first when fewer than a batch are left taken: rows are taken just ahead
// of their starts, a chunk per transaction, so an execution of a million
// rows is queued as soon as it is created (its Total counts them) and the
// writer never spends seconds taking rows while replies wait.
func (r *Runner) nextBatch(ctx context.Context, e *store.Execution, now time.Time) ([]store.Recipient, error) {
	s := r.s
	p := store.RecipientsDueParams{ProjectID: e.ProjectID, ExecutionID: e.ID, Now: now, Limit: e.Settings.BatchSize}
	rows, err := s.d.Store.RecipientsDue(ctx, p)
	for err == nil && len(rows) < max(1, e.Settings.BatchSize) && !e.Taken {
		err = s.d.Store.InTx(ctx, func(q store.Queries) error {
			var err error
			*e, err = q.ExecutionTake(ctx, store.ExecutionTakeParams{ProjectID: e.ProjectID, ID: e.ID, Limit: takeRows})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("taking the dataset's rows: %w", err)
		}
		rows, err = s.d.Store.RecipientsDue(ctx, p)
	}
	return rows, err
}

// schedule sets when e's next batch is due, refreshing its counts when
// they are stale.
func (r *Runner) schedule(ctx context.Context, e store.Execution, next time.Time) error {
	s := r.s
	// The counts are read before the write transaction, on a read
	// connection: they scan the execution's rows and messages, and inside
	// the transaction they held SQLite's one writer (every send's commit,
	// every reply) for as long as they took, longer as the execution grew.
	var fresh *store.ExecutionStats
	if now := s.d.Clock.Now(); now.Sub(e.Stats.UpdatedAt) >= staleStats && due(&r.counted, e.ID, now, staleStats) {
		began := time.Now()
		if st, err := s.stats(ctx, e); err == nil {
			fresh = &st
		}
		ran(&r.counted, e.ID, now, time.Since(began))
	}
	return s.d.Store.InTx(ctx, func(q store.Queries) error {
		cur, err := q.ExecutionLock(ctx, store.Ref{ProjectID: e.ProjectID, ID: e.ID})
		if err != nil {
			return err
		}
		if cur.Status != store.ExecutionRunning {
			return nil // paused or stopped meanwhile
		}
		cur.NextBatchAt, cur.UpdatedAt = next, s.d.Clock.Now()
		r.soonestMu.Lock()
		if r.soonest.IsZero() || next.Before(r.soonest) {
			r.soonest = next
		}
		r.soonestMu.Unlock()
		if fresh != nil {
			st := *fresh
			st.ChecksSince = cur.Stats.ChecksSince
			changed := st.Started != cur.Stats.Started || st.Sent != cur.Stats.Sent || st.Delivered != cur.Stats.Delivered ||
				st.Read != cur.Stats.Read || st.Failed != cur.Stats.Failed || st.StartFailed != cur.Stats.StartFailed ||
				st.Replied != cur.Stats.Replied || st.Completed != cur.Stats.Completed
			cur.Stats = st
			if changed {
				if err := s.progressEvent(ctx, q, cur); err != nil {
					return err
				}
			}
		}
		_, err = q.ExecutionUpdate(ctx, cur)
		return err
	})
}

// finish moves e to a final or paused status with a reason.
func (r *Runner) finish(ctx context.Context, e store.Execution, to, reason string) error {
	s := r.s
	err := s.d.Store.InTx(ctx, func(q store.Queries) error {
		cur, err := q.ExecutionLock(ctx, store.Ref{ProjectID: e.ProjectID, ID: e.ID})
		if err != nil {
			return err
		}
		if cur.Status != store.ExecutionRunning {
			return nil
		}
		_, err = s.moveExecution(ctx, q, cur, to, reason)
		return err
	})
	if err == nil {
		s.d.Logger.Info("campaign execution "+to, "execution", e.ID, "reason", reason)
	}
	return err
}

// end completes a paused execution whose campaign's end date passed.
func (r *Runner) end(ctx context.Context, e store.Execution) error {
	s := r.s
	err := s.d.Store.InTx(ctx, func(q store.Queries) error {
		cur, err := q.ExecutionLock(ctx, store.Ref{ProjectID: e.ProjectID, ID: e.ID})
		if err != nil {
			return err
		}
		if cur.Status != store.ExecutionPaused {
			return nil // resumed or stopped meanwhile: the step or nobody ends it
		}
		_, err = s.moveExecution(ctx, q, cur, store.ExecutionCompleted, endReason)
		return err
	})
	if err == nil {
		s.d.Logger.Info("campaign execution completed at the end date while paused", "execution", e.ID)
	}
	return err
}

// channels are the campaign's channels that still exist, in its order.
func (r *Runner) channels(ctx context.Context, c store.Campaign) ([]domain.Channel, error) {
	var out []domain.Channel
	for _, id := range c.ChannelIDs {
		ch, err := r.s.d.Store.ChannelGet(ctx, store.Ref{ProjectID: c.ProjectID, ID: id})
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, ch)
	}
	return out, nil
}

// rate is the sends per second the channels allow together (0: no limit
// known).
func (r *Runner) rate(ctx context.Context, channels []domain.Channel) float64 {
	if r.s.d.Limiters == nil {
		return 0
	}
	total := 0.0
	for _, ch := range channels {
		l := r.s.d.Limiters.Limiter(ctx, ch)
		if l == nil || l.Rate() <= 0 {
			return 0
		}
		total += l.Rate()
	}
	return total
}

// start starts rows through the conversation service, txRows per
// transaction. A transaction that fails is retried row by row, so one row
// that cannot start (recorded as failed) does not hold the others.
func (r *Runner) start(ctx context.Context, e store.Execution, c store.Campaign, ds store.Dataset, channels []domain.Channel, rows []store.Recipient) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	cells, err := r.cells(ctx, ds, rows)
	if err != nil {
		return 0, err
	}
	starts := make([]conversation.RowStart, len(rows))
	for i, x := range rows {
		ch := channels[int(x.RowNum)%len(channels)]
		starts[i] = r.rowStart(e, ds, ch, x, cells[x.RowNum])
	}
	n := 0
	for off := 0; off < len(starts); off += txRows {
		chunk := starts[off:min(off+txRows, len(starts))]
		out, err := r.s.d.Starter.StartRows(ctx, conversation.RowsStartParams{ProjectID: e.ProjectID, FlowID: c.FlowID, Rows: chunk, Done: r.count(e)})
		if err != nil && isPermanent(err) {
			// One row's own problem: start the chunk row by row.
			for j := range chunk {
				m, err := r.start1(ctx, e, c, chunk[j], rows[off+j])
				if err != nil {
					return n, err
				}
				n += m
			}
			continue
		}
		if err != nil {
			return n, err // the flow unpublished (conflict) or the database: the next tick retries
		}
		for _, o := range out {
			if o.Started {
				n++
			}
		}
	}
	return n, nil
}

// start1 starts one row, recording it as failed when it cannot start for
// a reason of its own.
func (r *Runner) start1(ctx context.Context, e store.Execution, c store.Campaign, rs conversation.RowStart, x store.Recipient) (int, error) {
	out, err := r.s.d.Starter.StartRows(ctx, conversation.RowsStartParams{ProjectID: e.ProjectID, FlowID: c.FlowID, Rows: []conversation.RowStart{rs}, Done: r.count(e)})
	if err == nil {
		if out[0].Started {
			return 1, nil
		}
		return 0, nil
	}
	if !isPermanent(err) {
		return 0, err
	}
	return 0, r.fail(ctx, e, x, err)
}

// count adds a transaction's starts to e's counter, in that transaction:
// the live count is exact.
func (r *Runner) count(e store.Execution) func(ctx context.Context, q store.Queries, n int) error {
	return func(ctx context.Context, q store.Queries, n int) error {
		if n == 0 {
			return nil
		}
		return q.ExecutionCountStarts(ctx, store.ExecutionCountParams{ProjectID: e.ProjectID, ID: e.ID, Started: int64(n), Now: r.s.d.Clock.Now()})
	}
}

// isPermanent: the error is the row's own (bad data), not the database's.
func isPermanent(err error) bool {
	switch domain.CodeOf(err) {
	case domain.CodeInvalid, domain.CodeUnprocessable, domain.CodeNotFound, domain.CodeTooLarge:
		return true
	}
	return false
}

// fail records that a row could not start.
func (r *Runner) fail(ctx context.Context, e store.Execution, x store.Recipient, cause error) error {
	r.s.d.Logger.Warn("a campaign row cannot start", "execution", e.ID, "row", x.RowNum, "err", cause)
	return r.s.d.Store.InTx(ctx, func(q store.Queries) error {
		ok, err := q.RecipientClaim(ctx, store.RecipientClaimParams{CampaignID: e.CampaignID, DatasetID: e.DatasetID, RowNum: x.RowNum,
			Status: store.RecipientFailed, Error: cause.Error(), Now: r.s.d.Clock.Now()})
		if ok && err == nil {
			err = q.ExecutionCountStarts(ctx, store.ExecutionCountParams{ProjectID: e.ProjectID, ID: e.ID, StartFailed: 1, Now: r.s.d.Clock.Now()})
		}
		return err
	})
}

// cells loads the dataset rows of the recipients.
func (r *Runner) cells(ctx context.Context, ds store.Dataset, rows []store.Recipient) (map[int64][]string, error) {
	out := make(map[int64][]string, len(rows))
	// Recipients come in row order: read the span they cover.
	lo, hi := rows[0].RowNum, rows[len(rows)-1].RowNum
	for after := lo - 1; after < hi; {
		// No further than hi: a page of 2,000 read ten times the rows of a
		// batch of 200, 4 % of the CPU at 1,000 starts a second.
		page, err := r.s.d.Store.DatasetRowList(ctx, store.DatasetRowListParams{DatasetID: ds.ID, AfterRow: after, Limit: int(min(2000, hi-after))})
		if err != nil {
			return nil, err
		}
		if len(page) == 0 {
			break
		}
		for _, p := range page {
			if p.RowNum <= hi {
				out[p.RowNum] = p.Cells
			}
		}
		after = page[len(page)-1].RowNum
		if len(out) >= len(rows) {
			break
		}
	}
	return out, nil
}

// rowStart builds the start of one recipient: the row's cells as
// variables and contact fields, the name from the name column.
func (r *Runner) rowStart(e store.Execution, ds store.Dataset, ch domain.Channel, x store.Recipient, cells []string) conversation.RowStart {
	row := make(map[string]any, len(ds.Columns))
	fields := make(map[string]any, len(ds.Columns))
	name := ""
	for i, col := range ds.Columns {
		if i >= len(cells) {
			break
		}
		v := ds.Mapping.Variables[col]
		row[v] = cells[i]
		switch col {
		case ds.Mapping.NameColumn:
			name = cells[i]
		case ds.Mapping.PhoneColumn, ds.Mapping.TimezoneColumn:
		default:
			fields[v] = cells[i]
		}
	}
	row["phone_e164"] = x.Phone
	campaignID, datasetID, rowNum := e.CampaignID, e.DatasetID, x.RowNum
	// Whole seconds: WhatsApp times inbound messages to the second, and a
	// reply counts when it is not older than the start.
	now := r.s.d.Clock.Now().Truncate(time.Second)
	return conversation.RowStart{Channel: ch, Phone: x.Phone, Name: name, Fields: fields, Row: row,
		Claim: func(ctx context.Context, q store.Queries, contactID, sessionID string) (bool, error) {
			return q.RecipientClaim(ctx, store.RecipientClaimParams{CampaignID: campaignID, DatasetID: datasetID, RowNum: rowNum,
				Status: store.RecipientStarted, ChannelID: ch.ID, ContactID: contactID, SessionID: sessionID, Now: now})
		}}
}

// failing says why e should pause: Meta reported a quality or limit
// error, or the failure rate over the last sends passed the maximum.
func (r *Runner) failing(ctx context.Context, e store.Execution) (string, error) {
	since := e.Stats.ChecksSince
	if since.IsZero() {
		since = e.CreatedAt
	}
	sends, err := r.s.d.Store.ExecutionRecentSends(ctx, store.ExecutionRecentSendsParams{ProjectID: e.ProjectID, ExecutionID: e.ID, Since: since, Limit: recentSends})
	if err != nil {
		return "", err
	}
	failed := 0
	for _, m := range sends {
		if why, ok := qualityCodes[m.ErrorCode]; ok {
			return why, nil
		}
		if m.Status == domain.MessageFailed {
			failed++
		}
	}
	if len(sends) >= minSends {
		if rate := float64(failed) / float64(len(sends)); rate > e.Settings.MaxFailureRate {
			return fmt.Sprintf("%d of the last %d sends failed (%.0f %%, the maximum is %.0f %%)", failed, len(sends), rate*100, e.Settings.MaxFailureRate*100), nil
		}
	}
	return "", nil
}

// stats computes e's counts now.
func (s *Service) stats(ctx context.Context, e store.Execution) (store.ExecutionStats, error) {
	return s.statsIn(ctx, s.d.Store, e)
}

// statsIn computes e's counts through q.
func (s *Service) statsIn(ctx context.Context, q store.Queries, e store.Execution) (store.ExecutionStats, error) {
	ref := store.Ref{ProjectID: e.ProjectID, ID: e.ID}
	counts, err := q.RecipientCounts(ctx, ref)
	if err != nil {
		return e.Stats, err
	}
	ms, err := q.ExecutionMessageStats(ctx, ref)
	if err != nil {
		return e.Stats, err
	}
	now := s.d.Clock.Now()
	// Queued counts the rows not taken yet as well (Total has them).
	st := store.ExecutionStats{
		Queued: max(0, e.Total-counts[store.RecipientStarted]-counts[store.RecipientFailed]-counts[store.RecipientWaiting]), WaitingForWindow: counts[store.RecipientWaiting],
		Started: counts[store.RecipientStarted], StartFailed: counts[store.RecipientFailed],
		Read:           ms.Outbound[domain.MessageRead],
		Failed:         ms.Outbound[domain.MessageFailed],
		FailedByReason: ms.FailedByReason,
		Replied:        ms.RepliedContacts,
		Completed:      ms.Sessions["completed"],
		UpdatedAt:      now,
		ChecksSince:    e.Stats.ChecksSince,
	}
	st.Delivered = st.Read + ms.Outbound[domain.MessageDelivered]
	st.Sent = st.Delivered + ms.Outbound[domain.MessageSent]
	if st.FailedByReason == nil {
		st.FailedByReason = map[string]int64{}
	}
	if v, ok := s.Runner.last.Load(e.ID); ok {
		m := v.(rateMark)
		if dt := now.Sub(m.at).Seconds(); dt > 0 && st.Started >= m.started {
			st.Rate = float64(st.Started-m.started) / dt
		}
	}
	s.Runner.last.Store(e.ID, rateMark{at: now, started: st.Started})
	if e.Status != store.ExecutionRunning {
		st.Rate = 0
	}
	if left := st.Queued + st.WaitingForWindow; st.Rate > 0 && left > 0 {
		st.ETASeconds = float64(left) / st.Rate
	}
	return st, nil
}

// LiveStats is e's counts with the start counters, which commit with
// each start, in place of the snapshot's: started, start_failed and
// queued are exact at every read; the rest are the snapshot's.
func LiveStats(e store.Execution) store.ExecutionStats {
	st := e.Stats
	st.Started, st.StartFailed = e.Started, e.StartFailed
	st.Queued = max(0, e.Total-e.Started-e.StartFailed-st.WaitingForWindow)
	if e.Status == store.ExecutionCompleted || e.Status == store.ExecutionStopped {
		st.ETASeconds, st.Rate = 0, 0
	}
	return st
}

// MarshalStats is the JSON of an execution's counts (the SSE stream and
// the API share it).
func MarshalStats(st store.ExecutionStats) []byte {
	b, _ := json.Marshal(st)
	return b
}
