package httpapi

import (
	"context"
	"errors"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/expr"
	"github.com/parleyhq/parley/internal/flow"
)

// CodeTestInput is a code node's script as the editor has it, with sample
// input.
type CodeTestInput struct {
	Body struct {
		Code      string          `json:"code" minLength:"1" maxLength:"20000"`
		TimeoutMS int             `json:"timeout_ms,omitempty" minimum:"0" maximum:"5000"`
		Variables map[string]any  `json:"variables,omitempty" doc:"Sample session variables (vars)"`
		Contact   CodeTestContact `json:"contact,omitempty" doc:"Sample contact"`
		InputText string          `json:"input_text,omitempty" maxLength:"4096" doc:"Sample last inbound message (trigger.input.text)"`
	}
}

// CodeTestContact is the sample contact of a test run.
type CodeTestContact struct {
	Name   string         `json:"name,omitempty" maxLength:"200"`
	Phone  string         `json:"phone,omitempty" maxLength:"40"`
	Fields map[string]any `json:"fields,omitempty"`
	Tags   []string       `json:"tags,omitempty" maxItems:"100"`
}

// CodeTestOutput is what the script returned, or why it failed.
type CodeTestOutput struct {
	Variables  map[string]any `json:"variables,omitempty"`
	Exit       string         `json:"exit,omitempty" doc:"The exit chosen; empty takes the node's first exit"`
	Error      string         `json:"error,omitempty" doc:"Why the run failed: thrown error, time limit, memory, invalid result…"`
	DurationMS int64          `json:"duration_ms"`
}

// codeTest runs a code node's script once with sample input. A syntax
// error is a 422 at /code with the line and column; a failed run is a
// 200 with error set, as the node would take its failed exit.
func (a *runtimeAPI) codeTest(ctx context.Context, in *CodeTestInput) (*Body[CodeTestOutput], error) {
	if a.s.deps.Scripts == nil {
		return nil, domain.Errorf(domain.CodeUnavailable, "code steps are not available in this server")
	}
	b := in.Body
	s, err := flow.CompileScript(b.Code)
	if err != nil {
		var se *flow.ScriptError
		if errors.As(err, &se) {
			return nil, domain.Invalid("/code", "syntax error at line %d, column %d: %s", se.Line, se.Column, se.Message)
		}
		return nil, domain.Invalid("/code", "%v", err)
	}
	timeout := flow.DefaultCodeTimeout
	if b.TimeoutMS > 0 {
		timeout = time.Duration(b.TimeoutMS) * time.Millisecond
	}
	req := engine.ScriptRequest{Script: s, Scope: principalFrom(ctx).ProjectID, Vars: b.Variables, Timeout: timeout,
		Contact: expr.Contact{ID: "sample", Name: b.Contact.Name, Phone: b.Contact.Phone, Fields: b.Contact.Fields, Tags: b.Contact.Tags},
		Trigger: engine.ScriptTrigger{Input: expr.Input{Text: b.InputText, Type: "text"}}}
	start := time.Now()
	res, err := a.s.deps.Scripts.Run(ctx, req)
	out := CodeTestOutput{DurationMS: time.Since(start).Milliseconds()}
	if err != nil {
		out.Error = err.Error()
		return bodyOf(out), nil
	}
	out.Variables, out.Exit = res.Vars, res.Exit
	return bodyOf(out), nil
}
