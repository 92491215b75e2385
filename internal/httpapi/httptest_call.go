package httpapi

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/expr"
)

// HTTPTestInput is an http_request node's call as the editor has it, with
// sample variables for its {{ }} templates.
type HTTPTestInput struct {
	Body struct {
		Method    string            `json:"method,omitempty" enum:"GET,POST,PUT,PATCH,DELETE,HEAD," doc:"Default GET"`
		URL       string            `json:"url" minLength:"1" maxLength:"4096"`
		Headers   map[string]string `json:"headers,omitempty"`
		Body      string            `json:"body,omitempty" maxLength:"262144"`
		TimeoutMS int               `json:"timeout_ms,omitempty" minimum:"0" maximum:"30000"`
		Variables map[string]any    `json:"variables,omitempty" doc:"Sample values for the templates' variables"`
	}
}

// HTTPTestOutput is what the call returned, for the editor to show.
type HTTPTestOutput struct {
	Method      string `json:"method"`
	URL         string `json:"url" doc:"The URL after its templates were rendered"`
	Status      int    `json:"status" doc:"0 when no response came"`
	ContentType string `json:"content_type,omitempty"`
	Body        string `json:"body" doc:"The response body, at most 64 KiB shown"`
	Truncated   bool   `json:"truncated"`
	DurationMS  int64  `json:"duration_ms"`
	Error       string `json:"error,omitempty" doc:"Why the call failed: blocked address, timeout, too large…"`
}

// httpTest makes an http_request node's call once, as the engine would:
// templates rendered, through the same SSRF-guarded client with its limits.
func (a *runtimeAPI) httpTest(ctx context.Context, in *HTTPTestInput) (*Body[HTTPTestOutput], error) {
	if a.s.deps.HTTP == nil {
		return nil, domain.Errorf(domain.CodeUnavailable, "outbound HTTP is not configured in this server")
	}
	b := in.Body
	env := &expr.Env{Vars: b.Variables, Now: a.s.deps.Clock.Now(), Clock: a.s.deps.Clock.Now}
	render := func(pointer, src string) (string, error) {
		t, err := expr.ParseTemplate(src)
		if err != nil {
			return "", domain.Invalid(pointer, "template error: %v", err)
		}
		out, err := t.Render(env)
		if expr.IsBudget(err) {
			return "", domain.Invalid(pointer, "the template is too costly to evaluate: %v", err)
		}
		if err != nil {
			return "", domain.Invalid(pointer, "the template cannot be rendered with these variables: %v", err)
		}
		return out, nil
	}
	method := strings.ToUpper(b.Method)
	if method == "" {
		method = "GET"
	}
	req := engine.HTTPRequest{Method: method, Timeout: time.Duration(b.TimeoutMS) * time.Millisecond}
	var err error
	if req.URL, err = render("/url", b.URL); err != nil {
		return nil, err
	}
	if req.Body, err = render("/body", b.Body); err != nil {
		return nil, err
	}
	for name, v := range b.Headers {
		value, err := render("/headers/"+name, v)
		if err != nil {
			return nil, err
		}
		req.Headers = append(req.Headers, engine.HTTPHeader{Name: name, Value: value})
	}
	start := time.Now()
	res, err := a.s.deps.HTTP.Do(ctx, req)
	out := HTTPTestOutput{Method: method, URL: req.URL, DurationMS: time.Since(start).Milliseconds()}
	if err != nil {
		out.Error = err.Error()
		return bodyOf(out), nil
	}
	out.Status, out.ContentType = res.Status, res.ContentType
	body := res.Body
	if len(body) > 64<<10 {
		body, out.Truncated = body[:64<<10], true
	}
	if utf8.Valid(body) {
		out.Body = string(body)
	} else {
		out.Body = "(binary, " + formatBytes(len(res.Body)) + ")"
	}
	return bodyOf(out), nil
}

func formatBytes(n int) string {
	if n < 1024 {
		return strconv.Itoa(n) + " bytes"
	}
	return strconv.Itoa(n/1024) + " KiB"
}
