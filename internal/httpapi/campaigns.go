package httpapi

import (
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/parleyhq/parley/internal/campaign"
	"github.com/parleyhq/parley/internal/dataset"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// campaignAPI serves datasets and campaigns.
type campaignAPI struct{ s *Server }

// datasetBodyLimit is the largest upload (the file plus the form).
const datasetBodyLimit = dataset.MaxBytes + 1<<20

// MappingView is how a dataset's columns are read.
type MappingView struct {
	PhoneColumn      string            `json:"phone_column" doc:"The column holding phone numbers (required)"`
	IdentifierColumn string            `json:"identifier_column,omitempty"`
	NameColumn       string            `json:"name_column,omitempty"`
	EmailColumn      string            `json:"email_column,omitempty"`
	TimezoneColumn   string            `json:"timezone_column,omitempty" doc:"IANA zones (Europe/Lisbon) overriding the zone of the phone's region"`
	DefaultCountry   string            `json:"default_country,omitempty" doc:"ISO 3166 alpha-2 (PT, US) for numbers written without a country code"`
	Variables        map[string]string `json:"variables" doc:"Column (as written) → the variable the flow reads as {{name}}; every column has one"`
}

// RowView is one dataset row and its outcome.
type RowView struct {
	Row         int64             `json:"row"`
	Line        int64             `json:"line"`
	Status      string            `json:"status" enum:"valid,invalid_phone,duplicate,wrong_columns,opted_out"`
	Reason      string            `json:"reason"`
	DuplicateOf int64             `json:"duplicate_of"`
	Phone       string            `json:"phone" doc:"E.164"`
	Timezone    string            `json:"timezone"`
	Values      map[string]string `json:"values" doc:"Cells by variable name"`
}

// DatasetView is an uploaded CSV dataset.
type DatasetView struct {
	ID        string           `json:"id"`
	Name      string           `json:"name"`
	Filename  string           `json:"filename"`
	Status    string           `json:"status" enum:"processing,ready,failed"`
	Error     string           `json:"error"`
	Encoding  string           `json:"encoding"`
	Delimiter string           `json:"delimiter"`
	Columns   []string         `json:"columns"`
	Mapping   MappingView      `json:"mapping"`
	Warnings  []string         `json:"warnings"`
	Counts    map[string]int64 `json:"counts"`
	Preview   []RowView        `json:"preview,omitempty" doc:"The first rows (on a single dataset's GET)"`
	CreatedAt time.Time        `json:"created_at"`
	UpdatedAt time.Time        `json:"updated_at"`
}

func mappingView(m store.DatasetMapping) MappingView {
	v := MappingView(m)
	if v.Variables == nil {
		v.Variables = map[string]string{}
	}
	return v
}

func datasetView(d store.Dataset) DatasetView {
	return DatasetView{ID: d.ID, Name: d.Name, Filename: d.Filename, Status: d.Status, Error: d.Error, Encoding: d.Encoding, Delimiter: d.Delimiter,
		Columns: d.Columns, Mapping: mappingView(d.Mapping), Warnings: d.Warnings, Counts: d.Counts, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
}

func rowView(d store.Dataset, r store.DatasetRow) RowView {
	return RowView{Row: r.RowNum, Line: r.Line, Status: r.Status, Reason: r.Reason, DuplicateOf: r.DuplicateOf, Phone: r.Phone, Timezone: r.Timezone,
		Values: dataset.Values(d, r)}
}

// DatasetUploadInput is a multipart upload.
type DatasetUploadInput struct {
	RawBody multipart.Form
}

func formValue(f *multipart.Form, name string) string {
	if v := f.Value[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (a *campaignAPI) datasetUpload(ctx context.Context, in *DatasetUploadInput) (*Body[DatasetView], error) {
	files := in.RawBody.File["file"]
	if len(files) == 0 {
		return nil, domain.Invalid("/file", "attach the CSV as the multipart field \"file\"")
	}
	f, err := files[0].Open()
	if err != nil {
		return nil, domain.Invalid("/file", "the uploaded file cannot be read: %v", err)
	}
	defer f.Close()
	p := dataset.UploadParams{ProjectID: principalFrom(ctx).ProjectID, Name: formValue(&in.RawBody, "name"), Filename: files[0].Filename, File: f,
		DefaultCountry: formValue(&in.RawBody, "default_country"), PhoneColumn: formValue(&in.RawBody, "phone_column")}
	if raw := formValue(&in.RawBody, "mapping"); raw != "" {
		var m store.DatasetMapping
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			return nil, domain.Invalid("/mapping", "the mapping is not a JSON mapping document: %v", err)
		}
		p.Mapping = &m
	}
	d, err := a.s.deps.Datasets.Upload(ctx, p)
	if err != nil {
		return nil, err
	}
	return bodyOf(datasetView(d)), nil
}

func (a *campaignAPI) datasetList(ctx context.Context, in *PageParams) (*ListOutput[DatasetView], error) {
	l, err := a.s.deps.Store.DatasetList(ctx, store.DatasetListParams{ProjectID: principalFrom(ctx).ProjectID, Page: in.page()})
	if err != nil {
		return nil, err
	}
	out := store.List[DatasetView]{Items: make([]DatasetView, len(l.Items)), Next: l.Next}
	for i, d := range l.Items {
		out.Items[i] = datasetView(d)
	}
	return listOf(out), nil
}

// DatasetPath names a dataset.
type DatasetPath struct {
	DatasetID string `path:"dataset_id" maxLength:"100"`
}

func (a *campaignAPI) datasetGet(ctx context.Context, in *DatasetPath) (*Body[DatasetView], error) {
	d, err := a.s.deps.Datasets.Get(ctx, store.Ref{ProjectID: principalFrom(ctx).ProjectID, ID: in.DatasetID})
	if err != nil {
		return nil, err
	}
	rows, err := a.s.deps.Datasets.Preview(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	v := datasetView(d)
	v.Preview = make([]RowView, len(rows))
	for i, r := range rows {
		v.Preview[i] = rowView(d, r)
	}
	return bodyOf(v), nil
}

// DatasetMappingInput replaces a dataset's mapping.
type DatasetMappingInput struct {
	DatasetPath
	Body struct {
		PhoneColumn      string            `json:"phone_column" maxLength:"500"`
		IdentifierColumn string            `json:"identifier_column,omitempty" maxLength:"500"`
		NameColumn       string            `json:"name_column,omitempty" maxLength:"500"`
		EmailColumn      string            `json:"email_column,omitempty" maxLength:"500"`
		TimezoneColumn   string            `json:"timezone_column,omitempty" maxLength:"500"`
		DefaultCountry   string            `json:"default_country,omitempty" maxLength:"2"`
		Variables        map[string]string `json:"variables,omitempty" doc:"Column → variable name; columns left out keep their normalised names"`
	}
}

func (a *campaignAPI) datasetMapping(ctx context.Context, in *DatasetMappingInput) (*Body[DatasetView], error) {
	d, err := a.s.deps.Datasets.SetMapping(ctx, store.Ref{ProjectID: principalFrom(ctx).ProjectID, ID: in.DatasetID}, store.DatasetMapping(in.Body))
	if err != nil {
		return nil, err
	}
	return bodyOf(datasetView(d)), nil
}

// DatasetRowsInput pages through a dataset's rows.
type DatasetRowsInput struct {
	DatasetPath
	Status string `query:"status" enum:"valid,invalid_phone,duplicate,wrong_columns,opted_out,"`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Cursor string `query:"cursor" maxLength:"20" doc:"The next_cursor of the previous page (a row number)"`
}

func (a *campaignAPI) datasetRows(ctx context.Context, in *DatasetRowsInput) (*ListOutput[RowView], error) {
	d, err := a.s.deps.Store.DatasetGet(ctx, store.Ref{ProjectID: principalFrom(ctx).ProjectID, ID: in.DatasetID})
	if err != nil {
		return nil, err
	}
	var after int64
	if in.Cursor != "" {
		if after, err = strconv.ParseInt(in.Cursor, 10, 64); err != nil || after < 0 {
			return nil, &domain.Error{Code: domain.CodeInvalid, Message: "cursor is not a row number", Fields: []domain.FieldError{{Location: "query.cursor", Message: "use the next_cursor of the previous page"}}}
		}
	}
	limit := in.Limit
	if limit <= 0 {
		limit = store.DefaultPageSize
	}
	rows, err := a.s.deps.Store.DatasetRowList(ctx, store.DatasetRowListParams{DatasetID: d.ID, Status: in.Status, AfterRow: after, Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	out := store.List[RowView]{Items: []RowView{}}
	for i, r := range rows {
		if i == limit {
			out.Next = strconv.FormatInt(rows[i-1].RowNum, 10)
			break
		}
		out.Items = append(out.Items, rowView(d, r))
	}
	return listOf(out), nil
}

func (a *campaignAPI) datasetReport(ctx context.Context, in *DatasetPath) (*huma.StreamResponse, error) {
	ref := store.Ref{ProjectID: principalFrom(ctx).ProjectID, ID: in.DatasetID}
	d, err := a.s.deps.Store.DatasetGet(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &huma.StreamResponse{Body: func(hc huma.Context) {
		hc.SetHeader("Content-Type", "text/csv; charset=utf-8")
		hc.SetHeader("Content-Disposition", `attachment; filename="`+safeFilename(d.Name)+`-report.csv"`)
		hc.SetStatus(http.StatusOK)
		if err := a.s.deps.Datasets.Report(hc.Context(), ref, hc.BodyWriter()); err != nil {
			a.s.deps.Logger.Warn("writing a dataset report", "dataset", d.ID, "err", err)
		}
	}}, nil
}

// safeFilename keeps letters, digits, dot, dash and underscore.
func safeFilename(s string) string {
	s = strings.TrimSuffix(s, ".csv")
	b := []rune{}
	for _, r := range s {
		if r < 128 && (r == '.' || r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')) {
			b = append(b, r)
		}
	}
	if len(b) == 0 {
		return "dataset"
	}
	return string(b)
}

func (a *campaignAPI) datasetDelete(ctx context.Context, in *DatasetPath) (*struct{}, error) {
	return nil, a.s.deps.Datasets.Delete(ctx, store.Ref{ProjectID: principalFrom(ctx).ProjectID, ID: in.DatasetID})
}

// CampaignView is a campaign.
type CampaignView struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	Description  string     `json:"description"`
	Status       string     `json:"status" enum:"draft,active,paused,stopped,completed"`
	StatusReason string     `json:"status_reason"`
	FlowID       string     `json:"flow_id"`
	ChannelIDs   []string   `json:"channel_ids"`
	DatasetIDs   []string   `json:"dataset_ids"`
	StartAt      *time.Time `json:"start_at"`
	EndAt        *time.Time `json:"end_at"`
	Version      int64      `json:"version"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

func campaignView(c store.Campaign) CampaignView {
	return CampaignView{ID: c.ID, Name: c.Name, Description: c.Description, Status: c.Status, StatusReason: c.StatusReason, FlowID: c.FlowID,
		ChannelIDs: c.ChannelIDs, DatasetIDs: c.DatasetIDs, StartAt: c.StartAt, EndAt: c.EndAt, Version: c.Version, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// CampaignBody is a campaign's editable settings.
type CampaignBody struct {
	Name        string     `json:"name" minLength:"1" maxLength:"200"`
	Description string     `json:"description,omitempty" maxLength:"2000"`
	FlowID      string     `json:"flow_id,omitempty" maxLength:"100" doc:"A flow whose Start has the campaign trigger"`
	ChannelIDs  []string   `json:"channel_ids,omitempty" maxItems:"50"`
	DatasetIDs  []string   `json:"dataset_ids,omitempty" maxItems:"50"`
	StartAt     *time.Time `json:"start_at,omitempty" doc:"Nothing starts before it"`
	EndAt       *time.Time `json:"end_at,omitempty" doc:"The running execution stops and the campaign completes at it"`
}

func (b CampaignBody) input() campaign.Input {
	return campaign.Input{Name: b.Name, Description: b.Description, FlowID: b.FlowID, ChannelIDs: b.ChannelIDs, DatasetIDs: b.DatasetIDs, StartAt: b.StartAt, EndAt: b.EndAt}
}

func (a *campaignAPI) campaignList(ctx context.Context, in *PageParams) (*ListOutput[CampaignView], error) {
	l, err := a.s.deps.Store.CampaignList(ctx, store.CampaignListParams{ProjectID: principalFrom(ctx).ProjectID, Page: in.page()})
	if err != nil {
		return nil, err
	}
	out := store.List[CampaignView]{Items: make([]CampaignView, len(l.Items)), Next: l.Next}
	for i, c := range l.Items {
		out.Items[i] = campaignView(c)
	}
	return listOf(out), nil
}

// CampaignCreateInput creates a campaign.
type CampaignCreateInput struct {
	Body CampaignBody
}

func (a *campaignAPI) campaignCreate(ctx context.Context, in *CampaignCreateInput) (*Body[CampaignView], error) {
	c, err := a.s.deps.Campaigns.Create(ctx, principalFrom(ctx).ProjectID, in.Body.input())
	if err != nil {
		return nil, err
	}
	return bodyOf(campaignView(c)), nil
}

// CampaignPath names a campaign.
type CampaignPath struct {
	CampaignID string `path:"campaign_id" maxLength:"100"`
}

func (a *campaignAPI) campaignGet(ctx context.Context, in *CampaignPath) (*Body[CampaignView], error) {
	c, err := a.s.deps.Store.CampaignGet(ctx, store.Ref{ProjectID: principalFrom(ctx).ProjectID, ID: in.CampaignID})
	if err != nil {
		return nil, err
	}
	return bodyOf(campaignView(c)), nil
}

// CampaignUpdateInput changes a campaign.
type CampaignUpdateInput struct {
	CampaignPath
	Body struct {
		CampaignBody
		Version int64 `json:"version" minimum:"1" doc:"The version read; a stale one is 409"`
	}
}

func (a *campaignAPI) campaignUpdate(ctx context.Context, in *CampaignUpdateInput) (*Body[CampaignView], error) {
	c, err := a.s.deps.Campaigns.Update(ctx, principalFrom(ctx).ProjectID, in.CampaignID, in.Body.Version, in.Body.input())
	if err != nil {
		return nil, err
	}
	return bodyOf(campaignView(c)), nil
}

func (a *campaignAPI) campaignDelete(ctx context.Context, in *CampaignPath) (*struct{}, error) {
	return nil, a.s.deps.Campaigns.Delete(ctx, principalFrom(ctx).ProjectID, in.CampaignID)
}

// ChecklistInput asks for a campaign's checklist over a dataset.
type ChecklistInput struct {
	CampaignPath
	DatasetID string `query:"dataset_id" maxLength:"100" doc:"Default: the campaign's first dataset"`
}

func (a *campaignAPI) campaignChecklist(ctx context.Context, in *ChecklistInput) (*Body[campaign.Checklist], error) {
	cl, err := a.s.deps.Campaigns.Checklist(ctx, principalFrom(ctx).ProjectID, in.CampaignID, in.DatasetID)
	if err != nil {
		return nil, err
	}
	return bodyOf(cl), nil
}

// SendWindowView is when, in each contact's local time, rows may start.
type SendWindowView struct {
	Start string `json:"start,omitempty" doc:"HH:MM local time" maxLength:"5"`
	End   string `json:"end,omitempty" doc:"HH:MM local time" maxLength:"5"`
	Days  []int  `json:"days,omitempty" doc:"ISO weekdays, 1 = Monday … 7 = Sunday; all when empty" maxItems:"7"`
}

// ExecutionSettingsView are an execution's settings.
type ExecutionSettingsView struct {
	BatchSize         int            `json:"batch_size"`
	BatchDelaySeconds float64        `json:"batch_delay_seconds"`
	SendWindow        SendWindowView `json:"send_window"`
	MaxFailureRate    float64        `json:"max_failure_rate"`
}

// ExecutionView is an execution with its counts.
type ExecutionView struct {
	ID           string                `json:"id"`
	CampaignID   string                `json:"campaign_id"`
	DatasetID    string                `json:"dataset_id"`
	Status       string                `json:"status" enum:"running,paused,stopped,completed"`
	StatusReason string                `json:"status_reason"`
	Settings     ExecutionSettingsView `json:"settings"`
	Total        int64                 `json:"total" doc:"Rows this execution runs: the dataset's valid rows the campaign had not started, counted when it was created"`
	Counts       store.ExecutionStats  `json:"counts"`
	CreatedAt    time.Time             `json:"created_at"`
	UpdatedAt    time.Time             `json:"updated_at"`
	FinishedAt   *time.Time            `json:"finished_at"`
}

// ExecutionViewOf is the API's view of an execution (shared with the
// live-progress stream).
func ExecutionViewOf(e store.Execution) ExecutionView {
	w := e.Settings.SendWindow
	e.Stats = campaign.LiveStats(e)
	return ExecutionView{ID: e.ID, CampaignID: e.CampaignID, DatasetID: e.DatasetID, Status: e.Status, StatusReason: e.StatusReason,
		Settings: ExecutionSettingsView{BatchSize: e.Settings.BatchSize, BatchDelaySeconds: e.Settings.BatchDelaySeconds,
			SendWindow: SendWindowView{Start: w.Start, End: w.End, Days: w.Days}, MaxFailureRate: e.Settings.MaxFailureRate},
		Total: e.Total, Counts: e.Stats, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt, FinishedAt: e.FinishedAt}
}

// ExecutionCreateInput starts an execution.
type ExecutionCreateInput struct {
	CampaignPath
	Body struct {
		DatasetID         string          `json:"dataset_id,omitempty" maxLength:"100" doc:"Default: the campaign's first dataset"`
		BatchSize         *int            `json:"batch_size,omitempty" doc:"Rows started per batch, 1–10000 (default 100)"`
		BatchDelaySeconds *float64        `json:"batch_delay_seconds,omitempty" doc:"Pause between batches, 0–3600 s (default 1)"`
		SendWindow        *SendWindowView `json:"send_window,omitempty"`
		MaxFailureRate    *float64        `json:"max_failure_rate,omitempty" doc:"0–1: over the last 100 sends, a higher failure rate pauses the execution (default 0.5)"`
	}
}

func (a *campaignAPI) executionCreate(ctx context.Context, in *ExecutionCreateInput) (*Body[ExecutionView], error) {
	b := in.Body
	x := campaign.ExecutionInput{DatasetID: b.DatasetID}
	if b.BatchSize != nil {
		x.BatchSize, x.BatchSizeSet = *b.BatchSize, true
	}
	if b.BatchDelaySeconds != nil {
		x.BatchDelaySeconds, x.DelaySet = *b.BatchDelaySeconds, true
	}
	if b.MaxFailureRate != nil {
		x.MaxFailureRate, x.FailureRateSet = *b.MaxFailureRate, true
	}
	if b.SendWindow != nil {
		x.SendWindow = store.SendWindow{Start: b.SendWindow.Start, End: b.SendWindow.End, Days: b.SendWindow.Days}
	}
	e, err := a.s.deps.Campaigns.CreateExecution(ctx, principalFrom(ctx).ProjectID, in.CampaignID, x)
	if err != nil {
		return nil, err
	}
	return bodyOf(ExecutionViewOf(e)), nil
}

// ExecutionListInput lists a campaign's executions.
type ExecutionListInput struct {
	CampaignPath
	PageParams
}

func (a *campaignAPI) executionList(ctx context.Context, in *ExecutionListInput) (*ListOutput[ExecutionView], error) {
	l, err := a.s.deps.Campaigns.Executions(ctx, principalFrom(ctx).ProjectID, in.CampaignID, in.page())
	if err != nil {
		return nil, err
	}
	out := store.List[ExecutionView]{Items: make([]ExecutionView, len(l.Items)), Next: l.Next}
	for i, e := range l.Items {
		out.Items[i] = ExecutionViewOf(e)
	}
	return listOf(out), nil
}

// ExecutionPath names an execution of a campaign.
type ExecutionPath struct {
	CampaignPath
	ExecutionID string `path:"execution_id" maxLength:"100"`
}

func (a *campaignAPI) executionGet(ctx context.Context, in *ExecutionPath) (*Body[ExecutionView], error) {
	e, err := a.s.deps.Campaigns.Execution(ctx, principalFrom(ctx).ProjectID, in.CampaignID, in.ExecutionID)
	if err != nil {
		return nil, err
	}
	return bodyOf(ExecutionViewOf(e)), nil
}

func (a *campaignAPI) executionPause(ctx context.Context, in *ExecutionPath) (*Body[ExecutionView], error) {
	e, err := a.s.deps.Campaigns.PauseExecution(ctx, principalFrom(ctx).ProjectID, in.CampaignID, in.ExecutionID, "")
	if err != nil {
		return nil, err
	}
	return bodyOf(ExecutionViewOf(e)), nil
}

func (a *campaignAPI) executionResume(ctx context.Context, in *ExecutionPath) (*Body[ExecutionView], error) {
	e, err := a.s.deps.Campaigns.ResumeExecution(ctx, principalFrom(ctx).ProjectID, in.CampaignID, in.ExecutionID)
	if err != nil {
		return nil, err
	}
	return bodyOf(ExecutionViewOf(e)), nil
}

func (a *campaignAPI) executionStop(ctx context.Context, in *ExecutionPath) (*Body[ExecutionView], error) {
	e, err := a.s.deps.Campaigns.StopExecution(ctx, principalFrom(ctx).ProjectID, in.CampaignID, in.ExecutionID)
	if err != nil {
		return nil, err
	}
	return bodyOf(ExecutionViewOf(e)), nil
}

// campaignScopes check that a dataset, campaign or execution named in a
// path belongs to the caller's project.
func (s *Server) campaignScopes() map[string]scopeCheck {
	return map[string]scopeCheck{
		"dataset_id": func(ctx context.Context, projectID, id string) error {
			_, err := s.deps.Store.DatasetGet(ctx, store.Ref{ProjectID: projectID, ID: id})
			return err
		},
		"campaign_id": func(ctx context.Context, projectID, id string) error {
			_, err := s.deps.Store.CampaignGet(ctx, store.Ref{ProjectID: projectID, ID: id})
			return err
		},
		"execution_id": func(ctx context.Context, projectID, id string) error {
			_, err := s.deps.Store.ExecutionGet(ctx, store.Ref{ProjectID: projectID, ID: id})
			return err
		},
	}
}
