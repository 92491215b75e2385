package script

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dop251/goja"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
)

// DB is the project database a script reaches through db.query and
// db.insert (internal/projectdb): the project is the flow's, never the
// script's choice.
type DB interface {
	Query(ctx context.Context, projectID, sql string, params []any) ([]map[string]any, error)
	InsertRow(ctx context.Context, projectID, table string, row map[string]any) (map[string]any, error)
}

// Option adds a service scripts may call.
type Option func(*Runner)

// WithDB lets scripts query and insert into their project's database.
func WithDB(db DB) Option { return func(r *Runner) { r.db = db } }

// WithHTTP lets scripts call URLs through http.request, on the given doer
// (internal/httpclient: the HTTP node's SSRF guard).
func WithHTTP(h engine.HTTPDoer) Option { return func(r *Runner) { r.http = h } }

// maxCalls bounds the db and http calls of one run.
const maxCalls = 20

// bindServices defines db and http in vm. Their calls run within ctx,
// which ends with the script's time limit, and count against maxCalls.
func (r *Runner) bindServices(ctx context.Context, vm *goja.Runtime, scope string, jsonParse goja.Callable, l Limits) error {
	calls := 0
	fail := func(format string, args ...any) {
		panic(vm.NewGoError(fmt.Errorf(format, args...)))
	}
	count := func(what string) {
		calls++
		if calls > maxCalls {
			fail("%s: a script makes at most %d db and http calls", what, maxCalls)
		}
	}
	toJS := func(v any) goja.Value {
		b, err := json.Marshal(v)
		if err != nil {
			fail("encoding the answer: %v", err)
		}
		out, err := jsonParse(goja.Undefined(), vm.ToValue(string(b)))
		if err != nil {
			panic(err)
		}
		return out
	}
	toGo := func(v goja.Value, what string) any {
		w := walker{vm: vm, budget: l.MaxValues, maxString: l.MaxStringLength}
		x, err := w.toGo(v, 0)
		if err != nil {
			fail("%s: %v", what, err)
		}
		return x
	}
	unavailable := func(what string) func(goja.FunctionCall) goja.Value {
		return func(goja.FunctionCall) goja.Value {
			fail("%s is not available here", what)
			return nil
		}
	}

	db := vm.NewObject()
	if r.db == nil || scope == "" {
		_ = db.Set("query", unavailable("db.query (the project database)"))
		_ = db.Set("insert", unavailable("db.insert (the project database)"))
	} else {
		_ = db.Set("query", func(c goja.FunctionCall) goja.Value {
			count("db.query")
			sql, ok := c.Argument(0).Export().(string)
			if !ok {
				fail("db.query(sql, params): sql must be a string")
			}
			var params []any
			if p := c.Argument(1); !goja.IsUndefined(p) && !goja.IsNull(p) {
				list, ok := toGo(p, "db.query's params").([]any)
				if !ok {
					fail("db.query(sql, params): params must be an array")
				}
				params = list
			}
			rows, err := r.db.Query(ctx, scope, sql, params)
			if err != nil {
				fail("db.query: %s", message(err))
			}
			return toJS(rows)
		})
		_ = db.Set("insert", func(c goja.FunctionCall) goja.Value {
			count("db.insert")
			table, ok := c.Argument(0).Export().(string)
			if !ok {
				fail("db.insert(table, row): table must be a string")
			}
			row, ok := toGo(c.Argument(1), "db.insert's row").(map[string]any)
			if !ok {
				fail("db.insert(table, row): row must be an object")
			}
			out, err := r.db.InsertRow(ctx, scope, table, row)
			if err != nil {
				fail("db.insert: %s", message(err))
			}
			return toJS(out)
		})
	}
	if err := vm.Set("db", db); err != nil {
		return err
	}

	h := vm.NewObject()
	if r.http == nil {
		_ = h.Set("request", unavailable("http.request"))
	} else {
		_ = h.Set("request", func(c goja.FunctionCall) goja.Value {
			count("http.request")
			o, ok := toGo(c.Argument(0), "http.request's options").(map[string]any)
			if !ok {
				fail("http.request({url, method, headers, body}): give an object")
			}
			req, err := httpRequest(o)
			if err != nil {
				fail("http.request: %v", err)
			}
			if dl, ok := ctx.Deadline(); ok {
				req.Timeout = time.Until(dl)
			}
			resp, err := r.http.Do(ctx, req)
			if err != nil {
				fail("http.request: %v", err)
			}
			out := map[string]any{"status": resp.Status, "content_type": resp.ContentType, "body": string(resp.Body), "json": nil}
			var j any
			if json.Unmarshal(resp.Body, &j) == nil {
				out["json"] = j
			}
			return toJS(out)
		})
	}
	return vm.Set("http", h)
}

// httpRequest reads http.request's options.
func httpRequest(o map[string]any) (engine.HTTPRequest, error) {
	var req engine.HTTPRequest
	for k := range o {
		switch k {
		case "url", "method", "headers", "body":
		default:
			return req, fmt.Errorf("unknown option %q (url, method, headers, body)", k)
		}
	}
	u, _ := o["url"].(string)
	if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return req, errors.New("url must start with http:// or https://")
	}
	req.URL = u
	req.Method = "GET"
	if m, ok := o["method"].(string); ok && m != "" {
		req.Method = strings.ToUpper(m)
	}
	if hs, ok := o["headers"].(map[string]any); ok {
		for k, v := range hs {
			req.Headers = append(req.Headers, engine.HTTPHeader{Name: k, Value: fmt.Sprint(v)})
		}
	}
	switch b := o["body"].(type) {
	case nil:
	case string:
		req.Body = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return req, err
		}
		req.Body = string(j)
		req.Headers = append(req.Headers, engine.HTTPHeader{Name: "Content-Type", Value: "application/json"})
	}
	return req, nil
}

// message is an error's text as the owner should read it: a domain
// error's message without its wrapped cause.
func message(err error) string {
	var de *domain.Error
	if errors.As(err, &de) {
		return de.Message
	}
	return err.Error()
}
