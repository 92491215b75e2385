// Package dataset owns CSV datasets for campaigns: reading an upload as it
// streams (encoding, delimiter, header, quoted newlines), the mapping of
// its columns (the phone column, name, e-mail, identifier, time zone, and
// every column as a flow variable), and each row's outcome — valid,
// invalid phone (why), duplicate (of which row), wrong column count, or
// opted-out — so nothing is dropped silently.
package dataset

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// Limits of an upload.
const (
	MaxRows  = 1_000_000
	MaxBytes = 200 << 20
	// PreviewRows are shown with a dataset.
	PreviewRows = 20
	// batchRows are classified and stored per transaction.
	batchRows = 2000
	// progressEvery is how often the counts of a dataset being processed
	// are written, for the UI's progress.
	progressEvery = 2 * time.Second
	// staleAfter: a dataset still "processing" whose counts have not moved
	// for this long, and that no goroutine of this process works on, was
	// cut short by a restart.
	staleAfter = time.Minute
)

// Service reads uploads and applies mappings in the background.
type Service struct {
	st     store.Store
	clock  domain.Clock
	ids    domain.IDGen
	logger *slog.Logger
	dir    string

	mu      sync.Mutex
	base    context.Context
	cancel  context.CancelFunc
	working map[string]bool
	wg      sync.WaitGroup
}

// New returns a Service; uploads are spooled to files in dir (the system's
// temporary directory when empty).
func New(st store.Store, clock domain.Clock, ids domain.IDGen, logger *slog.Logger, dir string) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	base, cancel := context.WithCancel(context.Background())
	return &Service{st: st, clock: clock, ids: ids, logger: logger, dir: dir, base: base, cancel: cancel, working: map[string]bool{}}
}

// Start implements the background-service contract; work starts with
// each upload.
func (s *Service) Start(context.Context) error { return nil }

// Stop cancels the work in progress and waits for it: a dataset cut short
// is marked failed.
func (s *Service) Stop() {
	s.cancel()
	s.wg.Wait()
}

// Wait blocks until no dataset is being processed (tests, benchmarks).
func (s *Service) Wait() { s.wg.Wait() }

// UploadParams are one CSV upload.
type UploadParams struct {
	ProjectID string
	Name      string
	Filename  string
	File      io.Reader
	// Mapping, when given, is applied; otherwise one is guessed.
	Mapping *store.DatasetMapping
	// DefaultCountry and PhoneColumn refine a guessed mapping.
	DefaultCountry string
	PhoneColumn    string
}

// Upload spools the file, reads its header and starts processing it in
// the background; the dataset is returned "processing".
func (s *Service) Upload(ctx context.Context, p UploadParams) (store.Dataset, error) {
	if p.File == nil {
		return store.Dataset{}, domain.Invalid("/file", "attach the CSV file as the multipart field \"file\"")
	}
	tmp, err := os.CreateTemp(s.dir, "parley-dataset-*.csv")
	if err != nil {
		return store.Dataset{}, fmt.Errorf("spooling the upload: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, io.LimitReader(p.File, MaxBytes+1))
	if err != nil {
		return store.Dataset{}, fmt.Errorf("spooling the upload: %w", err)
	}
	if n > MaxBytes {
		return store.Dataset{}, domain.Errorf(domain.CodeTooLarge, "the file is over %d MB; split it", MaxBytes>>20)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return store.Dataset{}, err
	}
	r, err := Open(tmp)
	if err != nil {
		return store.Dataset{}, domain.Invalid("/file", "the file cannot be read as CSV: %v", err)
	}
	var sample [][]string
	for len(sample) < PreviewRows {
		rec, err := r.Next()
		if err != nil {
			break
		}
		if rec.Err == nil {
			sample = append(sample, rec.Cells)
		}
	}
	m := Guess(r.Header, sample, p.DefaultCountry)
	if p.PhoneColumn != "" {
		m.PhoneColumn = p.PhoneColumn
	}
	if p.Mapping != nil {
		m = *p.Mapping
		if m.Variables == nil {
			m.Variables = map[string]string{}
		}
	}
	if err := Check(&m, r.Header); err != nil {
		return store.Dataset{}, err
	}
	name := p.Name
	if name == "" {
		name = p.Filename
	}
	if name == "" {
		name = "dataset"
	}
	now := s.clock.Now()
	d, err := s.st.DatasetCreate(ctx, store.Dataset{ID: s.ids.NewID(), ProjectID: p.ProjectID, Name: name, Filename: p.Filename,
		Status: store.DatasetProcessing, Encoding: r.Encoding, Delimiter: string(r.Delimiter), Columns: r.Header, Mapping: m, Warnings: r.Warnings,
		Counts: map[string]int64{}, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		return d, err
	}
	keep = true
	path := tmp.Name()
	_ = tmp.Close()
	s.background(d, func(ctx context.Context) (store.Dataset, error) {
		defer os.Remove(path)
		return s.ingest(ctx, d, path)
	})
	return d, nil
}

// background runs work for dataset d and records its outcome.
func (s *Service) background(d store.Dataset, work func(ctx context.Context) (store.Dataset, error)) {
	s.mu.Lock()
	s.working[d.ID] = true
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.working, d.ID)
			s.mu.Unlock()
		}()
		out, err := work(s.base)
		if err == nil {
			return
		}
		s.logger.Warn("processing a dataset failed", "dataset", d.ID, "err", err)
		if out.ID == "" {
			out = d
		}
		out.Status, out.Error, out.UpdatedAt = store.DatasetFailed, err.Error(), s.clock.Now()
		if errors.Is(err, context.Canceled) {
			out.Error = "processing was interrupted by a shutdown; upload the file again or save the mapping again"
		}
		if _, uerr := s.st.DatasetUpdate(context.Background(), out); uerr != nil {
			s.logger.Error("recording a dataset's failure", "dataset", d.ID, "err", uerr)
		}
	}()
}

// counter counts rows per outcome.
type counter map[string]int64

func (c counter) add(status string) { c[status]++; c["total"]++ }

func (c counter) done() map[string]int64 {
	for _, k := range []string{"total", store.RowValid, store.RowInvalidPhone, store.RowDuplicate, store.RowWrongColumns, store.RowOptedOut} {
		c[k] += 0
	}
	return c
}

// ingest reads the spooled file, classifies every row and stores it.
func (s *Service) ingest(ctx context.Context, d store.Dataset, path string) (store.Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return d, fmt.Errorf("opening the spooled upload: %w", err)
	}
	defer f.Close()
	r, err := Open(f)
	if err != nil {
		return d, fmt.Errorf("reading the file: %w", err)
	}
	cl := newClassifier(d.Mapping, d.Columns)
	defer cl.release()
	counts := counter{}
	// Three stages: this goroutine reads records; each batch's phones are
	// parsed on every CPU, then de-duplicated in row order and checked
	// against opted-out contacts; one writer stores the batch while the
	// next is read and parsed. The opt-out read stays off the writer: the
	// writer's inserts are the upload's bound.
	type job struct{ rows []store.DatasetRow }
	jobs := make(chan job, 2)
	writeErr := make(chan error, 1)
	go func() {
		lastProgress := s.clock.Now()
		var err error
		for j := range jobs {
			if err != nil {
				continue // drain
			}
			rows := j.rows
			if err = s.st.InTx(ctx, func(q store.Queries) error { return q.DatasetRowsInsert(ctx, rows) }); err != nil {
				continue
			}
			for _, row := range j.rows {
				counts.add(row.Status)
			}
			if now := s.clock.Now(); now.Sub(lastProgress) >= progressEvery {
				lastProgress = now
				p := d
				p.Counts, p.UpdatedAt = maps.Clone(counts), now
				_, err = s.st.DatasetUpdate(ctx, p)
			}
		}
		writeErr <- err
	}()
	batch := make([]store.DatasetRow, 0, batchRows)
	errs := make([]error, 0, batchRows)
	var rowNum int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		cl.parseAll(batch, errs)
		for i := range batch {
			cl.dedupe(&batch[i])
		}
		if err := s.suppress(ctx, d.ProjectID, batch); err != nil {
			return fmt.Errorf("looking up opted-out contacts: %w", err)
		}
		jobs <- job{rows: batch}
		batch, errs = make([]store.DatasetRow, 0, batchRows), errs[:0]
		return nil
	}
	readErr := func() error {
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				return flush()
			}
			if err != nil {
				return fmt.Errorf("reading row %d: %w", rowNum+1, err)
			}
			rowNum++
			if rowNum > MaxRows {
				return fmt.Errorf("the file has more than %d rows; split it", MaxRows)
			}
			batch = append(batch, store.DatasetRow{DatasetID: d.ID, RowNum: rowNum, Line: rec.Line, Cells: rec.Cells})
			errs = append(errs, rec.Err)
			if len(batch) == batchRows {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}()
	close(jobs)
	if err := <-writeErr; err != nil {
		return d, err
	}
	if readErr != nil {
		return d, readErr
	}
	if r.InvalidUTF8() {
		d.Warnings = append(d.Warnings, "some bytes were not valid UTF-8 and were replaced with �; save the file as UTF-8")
	}
	if r.RemovedNUL() {
		d.Warnings = append(d.Warnings, "NUL characters (U+0000) were removed from some cells")
	}
	if rowNum == 0 {
		d.Warnings = append(d.Warnings, "the file has a header but no rows")
	}
	d.Status, d.Error, d.Counts, d.UpdatedAt = store.DatasetReady, "", counts.done(), s.clock.Now()
	return s.st.DatasetUpdate(ctx, d)
}

// suppress marks valid rows whose phone belongs to an opted-out contact.
func (s *Service) suppress(ctx context.Context, projectID string, rows []store.DatasetRow) error {
	phones := make([]string, 0, len(rows))
	for _, r := range rows {
		if r.Status == store.RowValid {
			phones = append(phones, r.Phone)
		}
	}
	if len(phones) == 0 {
		return nil
	}
	out, err := s.st.ContactsOptedOut(ctx, store.ContactsOptedOutParams{ProjectID: projectID, Scheme: "whatsapp", Phones: phones})
	if err != nil {
		return err
	}
	for i := range rows {
		if rows[i].Status == store.RowValid && out[rows[i].Phone] {
			rows[i].Status, rows[i].Reason = store.RowOptedOut, "the contact opted out; they are not messaged"
		}
	}
	return nil
}

// SetMapping validates m and re-applies it to every stored row in the
// background; the dataset is returned "processing".
func (s *Service) SetMapping(ctx context.Context, r store.Ref, m store.DatasetMapping) (store.Dataset, error) {
	d, err := s.Get(ctx, r)
	if err != nil {
		return d, err
	}
	if d.Status == store.DatasetProcessing {
		return d, domain.Errorf(domain.CodeConflict, "the dataset is still being processed; wait until it is ready")
	}
	if m.Variables == nil {
		m.Variables = map[string]string{}
	}
	if err := Check(&m, d.Columns); err != nil {
		return d, err
	}
	d.Mapping, d.Status, d.Error, d.UpdatedAt = m, store.DatasetProcessing, "", s.clock.Now()
	d, err = s.st.DatasetUpdate(ctx, d)
	if err != nil {
		return d, err
	}
	s.background(d, func(ctx context.Context) (store.Dataset, error) { return s.remap(ctx, d) })
	return d, nil
}

// remap re-classifies the stored rows under the dataset's mapping.
func (s *Service) remap(ctx context.Context, d store.Dataset) (store.Dataset, error) {
	cl := newClassifier(d.Mapping, d.Columns)
	defer cl.release()
	counts := counter{}
	var after int64
	for {
		rows, err := s.st.DatasetRowList(ctx, store.DatasetRowListParams{DatasetID: d.ID, AfterRow: after, Limit: batchRows})
		if err != nil {
			return d, err
		}
		if len(rows) == 0 {
			break
		}
		for i := range rows {
			var parseErr error
			if rows[i].Status == store.RowWrongColumns && len(rows[i].Cells) == 0 {
				parseErr = errors.New(rows[i].Reason)
			}
			cl.classify(&rows[i], parseErr)
		}
		if err := s.suppress(ctx, d.ProjectID, rows); err != nil {
			return d, err
		}
		for _, row := range rows {
			counts.add(row.Status)
		}
		if err := s.st.InTx(ctx, func(q store.Queries) error { return q.DatasetRowsUpdate(ctx, rows) }); err != nil {
			return d, err
		}
		after = rows[len(rows)-1].RowNum
	}
	d.Status, d.Counts, d.UpdatedAt = store.DatasetReady, counts.done(), s.clock.Now()
	return s.st.DatasetUpdate(ctx, d)
}

// Get returns a dataset; one left "processing" by a process that died is
// marked failed first.
func (s *Service) Get(ctx context.Context, r store.Ref) (store.Dataset, error) {
	d, err := s.st.DatasetGet(ctx, r)
	if err != nil || d.Status != store.DatasetProcessing {
		return d, err
	}
	s.mu.Lock()
	mine := s.working[d.ID]
	s.mu.Unlock()
	if !mine && s.clock.Now().Sub(d.UpdatedAt) > staleAfter {
		d.Status, d.Error, d.UpdatedAt = store.DatasetFailed, "processing stopped (the server restarted); upload the file again or save the mapping again", s.clock.Now()
		return s.st.DatasetUpdate(ctx, d)
	}
	return d, nil
}

// Preview returns the first rows of a dataset.
func (s *Service) Preview(ctx context.Context, id string) ([]store.DatasetRow, error) {
	return s.st.DatasetRowList(ctx, store.DatasetRowListParams{DatasetID: id, Limit: PreviewRows})
}

// Report writes every row of the dataset as CSV with its outcome, every
// cell escaped against formula injection.
func (s *Service) Report(ctx context.Context, r store.Ref, w io.Writer) error {
	d, err := s.st.DatasetGet(ctx, r)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	head := []string{"row", "line", "status", "reason", "duplicate_of", "phone", "timezone"}
	for _, c := range d.Columns {
		head = append(head, Escape(c))
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	var after int64
	for {
		rows, err := s.st.DatasetRowList(ctx, store.DatasetRowListParams{DatasetID: d.ID, AfterRow: after, Limit: batchRows})
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			break
		}
		for _, row := range rows {
			dup := ""
			if row.DuplicateOf > 0 {
				dup = strconv.FormatInt(row.DuplicateOf, 10)
			}
			rec := []string{strconv.FormatInt(row.RowNum, 10), strconv.FormatInt(row.Line, 10), row.Status, Escape(row.Reason), dup, Escape(row.Phone), row.Timezone}
			for _, c := range row.Cells {
				rec = append(rec, Escape(c))
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		after = rows[len(rows)-1].RowNum
	}
	cw.Flush()
	return cw.Error()
}

// Delete removes a dataset and its rows (409 while an execution uses it).
func (s *Service) Delete(ctx context.Context, r store.Ref) error {
	s.mu.Lock()
	busy := s.working[r.ID]
	s.mu.Unlock()
	if busy {
		return domain.Errorf(domain.CodeConflict, "the dataset is still being processed; wait until it is ready")
	}
	return s.st.DatasetDelete(ctx, r)
}

// Values returns a row's cells keyed by variable name.
func Values(d store.Dataset, row store.DatasetRow) map[string]string {
	out := make(map[string]string, len(d.Columns))
	for i, c := range d.Columns {
		if i < len(row.Cells) {
			out[d.Mapping.Variables[c]] = row.Cells[i]
		}
	}
	return out
}
