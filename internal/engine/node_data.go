package engine

import (
	"errors"

	"github.com/parleyhq/parley/internal/flow"
)

// dataExec runs data nodes through the injected project database.
var dataExec = executor{enter: func(r *sprint, st *flow.Step) int { return r.data(st.Config.(*flow.DataConfig)) }}

// data renders a data node's values (a whole {{ }} hole keeps its type)
// and hands them to the Data service, which binds them; it sets the
// variable and takes found, not_found or failed.
func (r *sprint) data(c *flow.DataConfig) int {
	if r.e.svc.Data == nil {
		r.errorf("data", errors.New("the project database is not available here"))
		return r.take(flow.DataExitFailed)
	}
	req := DataRequest{Scope: r.rt[0].flow.Scope, Table: c.Table, Operation: c.Operation, Limit: c.Limit, Sort: c.Sort}
	for _, w := range c.Where {
		req.Where = append(req.Where, DataCondition{Column: w.Column, Op: w.Op, Value: r.value(w.Value, "where")})
	}
	for _, v := range c.Values {
		req.Values = append(req.Values, DataValue{Column: v.Column, Value: r.value(v.Value, "values")})
	}
	res, err := r.e.svc.Data.Data(r.ctx, req)
	if err != nil {
		r.errorf("data", err)
		return r.take(flow.DataExitFailed)
	}
	switch c.Operation {
	case flow.DataLookupMany:
		rows := make([]any, len(res.Rows))
		for i, row := range res.Rows {
			rows[i] = map[string]any(row)
		}
		r.setVar(c.Variable, rows)
		if len(rows) == 0 {
			return r.take(flow.DataExitNotFound)
		}
	case flow.DataDelete:
		r.setVar(c.Variable, res.Affected)
		if res.Affected == 0 {
			return r.take(flow.DataExitNotFound)
		}
	default:
		if len(res.Rows) == 0 {
			return r.take(flow.DataExitNotFound)
		}
		r.setVar(c.Variable, map[string]any(res.Rows[0]))
	}
	return r.take(flow.DataExitFound)
}
