package httpapi

import (
	"context"
	"mime/multipart"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/parleyhq/parley/internal/dataset"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/projectdb"
)

// projectDataAPI serves the project's own database: its state, tables,
// rows, CSV import and export, and the SQL console.
type projectDataAPI struct{ s *Server }

// projectDataBodyLimit bounds a CSV import.
const projectDataBodyLimit = dataset.MaxBytes + 1<<20

func (s *Server) projectDataRoutes() []Route {
	if s.deps.ProjectData == nil {
		return nil
	}
	a := &projectDataAPI{s: s}
	get, post, put, del := http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	upload := func(r *Route) { r.MaxBodyBytes = projectDataBodyLimit }
	return []Route{
		op(get, "/data/", "get-project-database", "The state of the project's own database: provisioning, ready or failed (with the reason)", "data", Viewer, a.status),
		op(post, "/data/provision", "provision-project-database", "Create the project's database, or retry after a failure", "data", Owner, a.provision),
		op(get, "/data/tables/", "list-data-tables", "The tables of the project's database with their columns and row counts", "data", Viewer, a.tableList),
		op(post, "/data/tables/", "create-data-table", "Create a table with typed columns (text, number, boolean, datetime, json), primary key, unique and index options", "data", Editor, a.tableCreate).with(created),
		op(get, "/data/tables/{table}/", "get-data-table", "A table's columns and row count", "data", Viewer, a.tableGet),
		op(del, "/data/tables/{table}/", "delete-data-table", "Delete a table and its rows", "data", Editor, a.tableDelete).with(noContent),
		op(get, "/data/tables/{table}/rows/", "list-data-rows", "A page of rows (?filter=column:op:value repeated, ?sort=column or -column, ?limit, ?offset)", "data", Viewer, a.rowList),
		op(post, "/data/tables/{table}/rows/", "insert-data-row", "Insert a row (column → value); values are converted to the columns' types and bound", "data", Editor, a.rowInsert).with(created),
		op(put, "/data/tables/{table}/rows/{key}", "update-data-row", "Change the given columns of the row whose primary key is key", "data", Editor, a.rowUpdate),
		op(del, "/data/tables/{table}/rows/{key}", "delete-data-row", "Delete the row whose primary key is key", "data", Editor, a.rowDelete).with(noContent),
		op(post, "/data/tables/{table}/import", "import-data-csv", "Import a CSV into the table (multipart: file); the header names columns; bad rows are reported and skipped", "data", Editor, a.importCSV).with(upload),
		op(get, "/data/tables/{table}/export.csv", "export-data-csv", "The table as CSV (cells escaped against formula injection)", "data", Viewer, a.exportCSV),
		op(post, "/data/sql", "run-data-sql", "Run SQL on the project's database only, in one transaction, within the time and row limits", "data", Owner, a.sql),
	}
}

func (a *projectDataAPI) svc() *projectdb.Service { return a.s.deps.ProjectData }

func (a *projectDataAPI) status(ctx context.Context, _ *struct{}) (*Body[projectdb.Status], error) {
	st, err := a.svc().Status(ctx, principalFrom(ctx).ProjectID)
	if err != nil {
		return nil, err
	}
	return bodyOf(st), nil
}

func (a *projectDataAPI) provision(ctx context.Context, _ *struct{}) (*Body[projectdb.Status], error) {
	st, err := a.svc().Provision(ctx, principalFrom(ctx).ProjectID)
	if err != nil && st.Status == "" {
		return nil, err
	}
	// A failure is in the state (with its reason) the caller asked for.
	return bodyOf(st), nil
}

func (a *projectDataAPI) tableList(ctx context.Context, _ *struct{}) (*Body[ListBody[projectdb.Table]], error) {
	l, err := a.svc().Tables(ctx, principalFrom(ctx).ProjectID)
	if err != nil {
		return nil, err
	}
	return bodyOf(ListBody[projectdb.Table]{Results: l}), nil
}

// DataTableCreateInput creates a table.
type DataTableCreateInput struct {
	Body projectdb.TableCreate
}

func (a *projectDataAPI) tableCreate(ctx context.Context, in *DataTableCreateInput) (*Body[projectdb.Table], error) {
	t, err := a.svc().CreateTable(ctx, principalFrom(ctx).ProjectID, in.Body)
	if err != nil {
		return nil, err
	}
	return bodyOf(t), nil
}

// DataTablePath names a table.
type DataTablePath struct {
	Table string `path:"table" maxLength:"63"`
}

func (a *projectDataAPI) tableGet(ctx context.Context, in *DataTablePath) (*Body[projectdb.Table], error) {
	t, err := a.svc().Table(ctx, principalFrom(ctx).ProjectID, in.Table)
	if err != nil {
		return nil, err
	}
	return bodyOf(t), nil
}

func (a *projectDataAPI) tableDelete(ctx context.Context, in *DataTablePath) (*struct{}, error) {
	return nil, a.svc().DropTable(ctx, principalFrom(ctx).ProjectID, in.Table)
}

// DataRowsInput pages a table's rows.
type DataRowsInput struct {
	DataTablePath
	Filter []string `query:"filter" maxItems:"20" doc:"column:op:value; op is eq, ne, lt, le, gt, ge, contains, null or not_null"`
	Sort   string   `query:"sort" maxLength:"64" doc:"A column, -column for descending"`
	Limit  int      `query:"limit" minimum:"0" maximum:"500"`
	Offset int      `query:"offset" minimum:"0"`
}

func (a *projectDataAPI) rowList(ctx context.Context, in *DataRowsInput) (*Body[projectdb.RowsPage], error) {
	q := projectdb.RowsQuery{Sort: in.Sort, Limit: in.Limit, Offset: in.Offset}
	for _, f := range in.Filter {
		pf, err := projectdb.ParseFilter(f)
		if err != nil {
			return nil, &domain.Error{Code: domain.CodeInvalid, Message: err.Error(), Fields: []domain.FieldError{{Location: "query.filter", Message: err.Error()}}}
		}
		q.Filters = append(q.Filters, pf)
	}
	p, err := a.svc().Rows(ctx, principalFrom(ctx).ProjectID, in.Table, q)
	if err != nil {
		return nil, err
	}
	return bodyOf(p), nil
}

// DataRowInput is a row to insert.
type DataRowInput struct {
	DataTablePath
	Body map[string]any `doc:"column → value"`
}

func (a *projectDataAPI) rowInsert(ctx context.Context, in *DataRowInput) (*Body[map[string]any], error) {
	r, err := a.svc().InsertRow(ctx, principalFrom(ctx).ProjectID, in.Table, in.Body)
	if err != nil {
		return nil, err
	}
	return bodyOf(r), nil
}

// DataRowKeyInput names a row by its primary key, with the columns to set.
type DataRowKeyInput struct {
	DataTablePath
	Key  string         `path:"key" maxLength:"1000"`
	Body map[string]any `doc:"column → value"`
}

func (a *projectDataAPI) rowUpdate(ctx context.Context, in *DataRowKeyInput) (*Body[map[string]any], error) {
	r, err := a.svc().UpdateRow(ctx, principalFrom(ctx).ProjectID, in.Table, in.Key, in.Body)
	if err != nil {
		return nil, err
	}
	return bodyOf(r), nil
}

// DataRowPath names a row by its primary key.
type DataRowPath struct {
	DataTablePath
	Key string `path:"key" maxLength:"1000"`
}

func (a *projectDataAPI) rowDelete(ctx context.Context, in *DataRowPath) (*struct{}, error) {
	return nil, a.svc().DeleteRow(ctx, principalFrom(ctx).ProjectID, in.Table, in.Key)
}

// DataImportInput is a CSV upload.
type DataImportInput struct {
	DataTablePath
	RawBody multipart.Form
}

func (a *projectDataAPI) importCSV(ctx context.Context, in *DataImportInput) (*Body[projectdb.ImportResult], error) {
	files := in.RawBody.File["file"]
	if len(files) == 0 {
		return nil, domain.Invalid("/file", "attach the CSV as the multipart field \"file\"")
	}
	f, err := files[0].Open()
	if err != nil {
		return nil, domain.Invalid("/file", "the uploaded file cannot be read: %v", err)
	}
	defer f.Close()
	res, err := a.svc().ImportCSV(ctx, principalFrom(ctx).ProjectID, in.Table, f, nil)
	if err != nil {
		return nil, err
	}
	return bodyOf(res), nil
}

func (a *projectDataAPI) exportCSV(ctx context.Context, in *DataTablePath) (*huma.StreamResponse, error) {
	project := principalFrom(ctx).ProjectID
	if _, err := a.svc().Table(ctx, project, in.Table); err != nil {
		return nil, err
	}
	return &huma.StreamResponse{Body: func(hc huma.Context) {
		hc.SetHeader("Content-Type", "text/csv; charset=utf-8")
		hc.SetHeader("Content-Disposition", `attachment; filename="`+safeFilename(in.Table)+`.csv"`)
		hc.SetStatus(http.StatusOK)
		if err := a.svc().ExportCSV(hc.Context(), project, in.Table, hc.BodyWriter()); err != nil {
			a.s.deps.Logger.Warn("writing a table export", "table", in.Table, "err", err)
		}
	}}, nil
}

// DataSQLInput is the console's SQL.
type DataSQLInput struct {
	Body struct {
		SQL    string `json:"sql" minLength:"1" maxLength:"100000"`
		Params []any  `json:"params,omitempty" maxItems:"100" doc:"Values bound to the last statement's parameters ($1… on PostgreSQL, ? on SQLite)"`
	}
}

func (a *projectDataAPI) sql(ctx context.Context, in *DataSQLInput) (*Body[projectdb.SQLResult], error) {
	r, err := a.svc().SQL(ctx, principalFrom(ctx).ProjectID, in.Body.SQL, in.Body.Params)
	if err != nil {
		return nil, err
	}
	return bodyOf(r), nil
}
