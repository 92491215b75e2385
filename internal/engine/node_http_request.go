package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/flow"
)

// httpRequestExec runs http_request nodes.
var httpRequestExec = executor{enter: func(r *sprint, st *flow.Step) int { return r.httpRequest(st.Config.(*flow.HTTPConfig)) }}

// httpRequest renders and performs an http_request node's call through the
// injected doer and maps the JSON response into variables.
func (r *sprint) httpRequest(c *flow.HTTPConfig) int {
	req := HTTPRequest{Method: strings.ToUpper(strings.TrimSpace(r.render(c.Method, "method"))), URL: strings.TrimSpace(r.render(c.URL, "url")),
		Body: r.render(c.Body, "body"), Timeout: c.Timeout}
	if req.Method == "" {
		req.Method = "GET"
	}
	if len(c.Headers) > 0 {
		req.Headers = make([]HTTPHeader, len(c.Headers))
		for i, h := range c.Headers {
			req.Headers[i] = HTTPHeader{Name: h.Name, Value: r.render(h.Value, "headers")}
		}
	}
	call := &HTTPCall{Method: req.Method, URL: req.URL}
	var resp HTTPResponse
	var err error
	if r.e.svc.HTTP == nil {
		err = errors.New("HTTP requests are not available here")
	} else {
		resp, err = r.e.svc.HTTP.Do(r.ctx, req)
	}
	if err == nil && (resp.Status < 200 || resp.Status > 299) {
		err = fmt.Errorf("status %d", resp.Status)
	}
	call.Status, call.Bytes = resp.Status, len(resp.Body)
	if err != nil {
		call.Error = err.Error()
	}
	r.emit(Event{Kind: EventHTTPCalled, Node: r.nodeID(), HTTP: call})
	if err != nil {
		return r.take(flow.HTTPExitFailure)
	}
	if c.ResponseVariable == "" && len(c.Mappings) == 0 {
		return r.take(flow.HTTPExitSuccess)
	}
	body, jerr := decodeJSON(resp.Body)
	if jerr != nil {
		// Not JSON: the whole text is the response; paths find nothing.
		body = string(resp.Body)
		if len(c.Mappings) > 0 {
			r.errorf("mappings", fmt.Errorf("the response is not JSON: %w", jerr))
		}
	}
	r.setVar(c.ResponseVariable, body)
	for _, m := range c.Mappings {
		r.setVar(m.Variable, lookupPath(body, m.Path))
	}
	return r.take(flow.HTTPExitSuccess)
}

// decodeJSON decodes a response body keeping integers exact.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("trailing data after the JSON value")
	}
	return normalize(v), nil
}

// lookupPath walks map keys and list indices; a missing step gives nil.
func lookupPath(v any, path []string) any {
	for _, seg := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}
