package flow

import (
	"maps"
	"regexp"
	"slices"
	"strconv"

	"github.com/parleyhq/parley/internal/expr"
)

// TypeData reads and writes the project's own database.
const TypeData = "data"

// Data node operations.
const (
	DataLookupOne  = "lookup_one"
	DataLookupMany = "lookup_many"
	DataInsert     = "insert"
	DataUpdate     = "update"
	DataUpsert     = "upsert"
	DataDelete     = "delete"
)

// Exits of data nodes, in order.
const (
	ExitFound    = "found"
	ExitNotFound = "not_found"

	DataExitFound    = 0
	DataExitNotFound = 1
	DataExitFailed   = 2
)

const (
	maxDataConditions = 10
	maxDataValues     = 50
	maxDataLimit      = 100
)

// DataData is the data of a data node.
type DataData struct {
	Table     string            `json:"table" flow:"required,line" doc:"A table of the project's database (the Data page)."`
	Operation string            `json:"operation" flow:"required,enum=lookup_one|lookup_many|insert|update|upsert|delete" doc:"lookup_one sets the variable to the first matching row; lookup_many to the list of rows; insert adds a row; update changes the matching rows; upsert updates them or inserts one; delete removes them."`
	Where     []DataCondition   `json:"where,omitempty" doc:"Conditions, all of which a row must meet; their values are {{ }} templates, bound as parameters."`
	Values    map[string]string `json:"values,omitempty" flow:"template" doc:"Column → value ({{ }} template) for insert, update and upsert."`
	Variable  string            `json:"variable,omitempty" flow:"variable" doc:"Receives the row (lookup_one, insert, update, upsert), the rows (lookup_many) or the count deleted (delete)."`
	Sort      string            `json:"sort,omitempty" flow:"line" doc:"Order of lookups: a column, -column for descending."`
	Limit     int               `json:"limit,omitempty" doc:"lookup_many's most rows; 20 by default, at most 100."`
}

// DataCondition is one condition of a data node.
type DataCondition struct {
	Column string `json:"column" flow:"required,line"`
	Op     string `json:"op,omitempty" flow:"enum=eq|ne|lt|le|gt|ge|contains|null|not_null" doc:"eq by default."`
	Value  string `json:"value,omitempty" flow:"template"`
}

// DataConfig configures a data node (exits: DataExitFound,
// DataExitNotFound, DataExitFailed).
type DataConfig struct {
	Table     string
	Operation string
	Where     []DataWhere
	// Values sorted by column.
	Values   []DataSet
	Variable string
	Sort     string
	Limit    int
}

// DataWhere is a compiled condition.
type DataWhere struct {
	Column, Op string
	Value      *expr.Template
}

// DataSet is a compiled column value.
type DataSet struct {
	Column string
	Value  *expr.Template
}

// KindData is the Kind of data nodes.
const KindData Kind = 20

var dataNode = def[DataData]{
	kind: KindData,
	NodeType: NodeType{Type: TypeData, Group: GroupData, Label: "Data", Description: "Looks up, inserts, updates, upserts or deletes rows of the project's own database; values are bound, never put into SQL.",
		Palette: true, Available: true, Exits: staticExits(ExitFound, ExitNotFound, ExitFailed),
		Limits: []Limit{rangeLimit("limit", 0, maxDataLimit, "limit must be between 0 (default 20) and 100"),
			{Path: "where", MaxItems: maxDataConditions, Doc: "at most 10 conditions"}},
		Defaults: map[string]any{"operation": DataLookupOne, "table": "customers",
			"where": []any{map[string]any{"column": "phone", "op": "eq", "value": "{{ contact.phone }}"}}, "variable": "customer"},
		Widgets: []string{"data_tables"}},
	aliases: []string{"database", "db", "lookup", "table", "datastore"},
	check:   checkData,
	compile: func(c *compiler, d *DataData) any {
		dc := &DataConfig{Table: d.Table, Operation: d.Operation, Variable: d.Variable, Sort: d.Sort, Limit: d.Limit}
		if dc.Limit <= 0 {
			dc.Limit = 20
		}
		for _, w := range d.Where {
			op := w.Op
			if op == "" {
				op = "eq"
			}
			dc.Where = append(dc.Where, DataWhere{Column: w.Column, Op: op, Value: c.tplOrEmpty(w.Value)})
		}
		for _, k := range slices.Sorted(maps.Keys(d.Values)) {
			dc.Values = append(dc.Values, DataSet{Column: k, Value: c.tplOrEmpty(d.Values[k])})
		}
		return dc
	},
}

var dataIdentRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

func checkData(a *analysis, i int, d *DataData) {
	if d.Table != "" && !dataIdentRE.MatchString(d.Table) {
		a.nodeErr(i, CodeInvalidValue, "/data/table", "%s: table %q must be lower-case letters, digits and _", a.label(i), d.Table)
	}
	switch d.Operation {
	case DataLookupOne, DataLookupMany, DataInsert, DataUpdate, DataUpsert, DataDelete, "":
	default:
		a.nodeErr(i, CodeInvalidValue, "/data/operation", "%s: operation %q must be lookup_one, lookup_many, insert, update, upsert or delete", a.label(i), d.Operation)
	}
	switch d.Operation {
	case DataUpdate, DataUpsert, DataDelete:
		if len(d.Where) == 0 {
			a.nodeErr(i, CodeInvalidValue, "/data/where", "%s: %s needs at least one condition (it would change every row)", a.label(i), d.Operation)
		}
	}
	switch d.Operation {
	case DataInsert, DataUpdate, DataUpsert:
		if len(d.Values) == 0 {
			a.nodeErr(i, CodeInvalidValue, "/data/values", "%s: %s needs at least one column value", a.label(i), d.Operation)
		}
	}
	if d.Operation == DataUpsert {
		for k, w := range d.Where {
			if w.Op != "" && w.Op != "eq" {
				a.nodeErr(i, CodeInvalidValue, "/data/where/"+strconv.Itoa(k)+"/op", "%s: upsert's conditions are equalities (they are written into the inserted row)", a.label(i))
			}
		}
	}
	if len(d.Where) > maxDataConditions {
		a.nodeErr(i, CodeInvalidValue, "/data/where", "%s has %d conditions; at most %d are allowed", a.label(i), len(d.Where), maxDataConditions)
	}
	if len(d.Values) > maxDataValues {
		a.nodeErr(i, CodeInvalidValue, "/data/values", "%s sets %d columns; at most %d are allowed", a.label(i), len(d.Values), maxDataValues)
	}
	for k, w := range d.Where {
		p := "/data/where/" + strconv.Itoa(k)
		if !dataIdentRE.MatchString(w.Column) {
			a.nodeErr(i, CodeInvalidValue, p+"/column", "%s: column %q must be lower-case letters, digits and _", a.label(i), w.Column)
		}
		switch w.Op {
		case "", "eq", "ne", "lt", "le", "gt", "ge", "contains", "null", "not_null":
		default:
			a.nodeErr(i, CodeInvalidValue, p+"/op", "%s: operator %q must be eq, ne, lt, le, gt, ge, contains, null or not_null", a.label(i), w.Op)
		}
	}
	for _, col := range slices.Sorted(maps.Keys(d.Values)) {
		if !dataIdentRE.MatchString(col) {
			a.nodeErr(i, CodeInvalidValue, "/data/values", "%s: column %q must be lower-case letters, digits and _", a.label(i), col)
		}
	}
	if d.Limit < 0 || d.Limit > maxDataLimit {
		a.nodeErr(i, CodeInvalidValue, "/data/limit", "%s: limit must be between 0 (default 20) and %d", a.label(i), maxDataLimit)
	}
	a.checkVariable(i, "/data/variable", d.Variable)
}
