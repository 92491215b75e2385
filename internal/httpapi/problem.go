package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"

	"github.com/parleyhq/parley/internal/domain"
)

// Problem is an RFC 9457 problem document: every error Parley's API returns.
type Problem struct {
	Type      string              `json:"type" doc:"A URN naming the class of problem, urn:parley:problem:<code>"`
	Title     string              `json:"title" doc:"The HTTP status text"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail" doc:"What went wrong, for people"`
	Code      string              `json:"code" doc:"Stable machine-readable code"`
	Pointer   string              `json:"pointer,omitempty" doc:"JSON pointer of the first bad field in the request body"`
	Errors    []domain.FieldError `json:"errors,omitempty" doc:"Every problem found, each with its field"`
	RequestID string              `json:"request_id,omitempty"`
}

// Error implements error.
func (p *Problem) Error() string { return p.Detail }

// GetStatus implements huma.StatusError.
func (p *Problem) GetStatus() int { return p.Status }

// ContentType makes huma send problems as application/problem+json.
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" {
		return "application/problem+json"
	}
	return ct
}

// statusOf maps error codes to HTTP statuses: the one place that does.
func statusOf(c domain.Code) int {
	switch c {
	case domain.CodeInvalid, domain.CodeUnprocessable:
		// Validation errors, with their JSON pointers, are all 422; a body
		// that is not JSON is huma's 400 (see problemOf).
		return http.StatusUnprocessableEntity
	case domain.CodeNotFound:
		return http.StatusNotFound
	case domain.CodeConflict:
		return http.StatusConflict
	case domain.CodeUnauthorized:
		return http.StatusUnauthorized
	case domain.CodeForbidden:
		return http.StatusForbidden
	case domain.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case domain.CodeRateLimited:
		return http.StatusTooManyRequests
	case domain.CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// codeOfStatus is the inverse, for errors huma raises itself.
func codeOfStatus(status int) domain.Code {
	switch status {
	case http.StatusBadRequest:
		return domain.CodeInvalid
	case http.StatusUnprocessableEntity:
		return domain.CodeUnprocessable
	case http.StatusNotFound:
		return domain.CodeNotFound
	case http.StatusConflict, http.StatusPreconditionFailed:
		return domain.CodeConflict
	case http.StatusUnauthorized:
		return domain.CodeUnauthorized
	case http.StatusForbidden:
		return domain.CodeForbidden
	case http.StatusRequestEntityTooLarge:
		return domain.CodeTooLarge
	case http.StatusTooManyRequests:
		return domain.CodeRateLimited
	case http.StatusServiceUnavailable:
		return domain.CodeUnavailable
	}
	if status < 500 {
		return domain.CodeInvalid
	}
	return domain.CodeInternal
}

// problemOf builds the Problem for an error, logging unexpected ones. It is
// the single path from any error to a response.
func problemOf(ctx context.Context, status int, msg string, errs ...error) *Problem {
	var de *domain.Error
	for _, e := range errs {
		if e != nil && errors.As(e, &de) {
			break
		}
	}
	var p *Problem
	switch {
	case de != nil:
		p = &Problem{Status: statusOf(de.Code), Code: string(de.Code), Detail: de.Message, Errors: de.Fields}
		if p.Status >= 500 {
			p.Detail = "internal error"
		}
	default:
		var pe *Problem
		for _, e := range errs {
			if e != nil && errors.As(e, &pe) {
				return pe
			}
		}
		p = &Problem{Status: status, Code: string(codeOfStatus(status)), Detail: msg}
		for _, e := range errs {
			var d *huma.ErrorDetail
			if errors.As(e, &d) {
				p.Errors = append(p.Errors, fieldOf(d))
			}
		}
		if status == http.StatusBadRequest && len(p.Errors) > 0 && p.Detail == "validation failed" {
			p.Detail = "the request body is not valid JSON: " + p.Errors[0].Message
		}
		if status == http.StatusUnsupportedMediaType {
			p.Detail, p.Errors = "the request body must be JSON: send Content-Type: application/json", nil
		}
		if status == http.StatusRequestEntityTooLarge {
			p.Detail = "the request body is too large: " + msg
		}
		if len(p.Errors) > 0 && status == http.StatusUnprocessableEntity {
			p.Status, p.Code = http.StatusUnprocessableEntity, string(domain.CodeInvalid)
			p.Detail = "the request is invalid: " + p.Errors[0].Message
			if p.Errors[0].Pointer != "" {
				p.Detail += " (at " + p.Errors[0].Pointer + ")"
			} else if p.Errors[0].Location != "" {
				p.Detail += " (in " + p.Errors[0].Location + ")"
			}
		}
	}
	if len(p.Errors) > 0 {
		p.Pointer = p.Errors[0].Pointer
	}
	p.Title = http.StatusText(p.Status)
	p.Type = "urn:parley:problem:" + p.Code
	p.RequestID = requestIDFrom(ctx)
	if p.Status >= 500 {
		loggerFrom(ctx).ErrorContext(ctx, "request failed", "status", p.Status, "msg", msg, "err", errors.Join(errs...))
	}
	return p
}

// fieldOf turns huma's "body.items[3].name" locations into JSON pointers.
func fieldOf(d *huma.ErrorDetail) domain.FieldError {
	f := domain.FieldError{Message: d.Message}
	loc := d.Location
	if rest, ok := strings.CutPrefix(loc, "body"); ok {
		f.Pointer = locationToPointer(rest)
		if f.Pointer == "" {
			f.Pointer = "/"
		}
		if strings.HasPrefix(d.Message, "unexpected property") {
			f.Code = "unknown_field"
		}
		if strings.Contains(d.Message, "expected required property") {
			f.Code = "required"
			// huma reports a missing property at its parent; point at the property.
			if i := strings.Index(d.Message, "property "); i >= 0 {
				name := strings.Fields(d.Message[i+len("property "):])
				if len(name) > 0 {
					f.Pointer = strings.TrimSuffix(f.Pointer, "/") + "/" + escapePointer(name[0])
				}
			}
		}
		if f.Pointer == "/" {
			f.Pointer = ""
		}
		return f
	}
	f.Location = loc
	return f
}

// locationToPointer converts ".a[2].b" to "/a/2/b".
func locationToPointer(loc string) string {
	var b strings.Builder
	for _, part := range strings.Split(strings.TrimPrefix(loc, "."), ".") {
		if part == "" {
			continue
		}
		name, idx, _ := strings.Cut(part, "[")
		if name != "" {
			b.WriteString("/" + escapePointer(name))
		}
		for idx != "" {
			var n string
			n, idx, _ = strings.Cut(idx, "]")
			if _, err := strconv.Atoi(n); err == nil {
				b.WriteString("/" + n)
			}
			idx = strings.TrimPrefix(idx, "[")
		}
	}
	return b.String()
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// writeProblem writes a problem outside huma (middleware, raw handlers).
func writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	p := problemOf(r.Context(), http.StatusInternalServerError, "unexpected error", err)
	writeProblemDoc(w, p)
}

// writeMalformed answers a body that is not the JSON asked for (not JSON,
// unknown fields, invalid UTF-8): 400, as huma answers its own; validation
// errors of a readable body are 422 (statusOf).
func writeMalformed(w http.ResponseWriter, r *http.Request, detail string) {
	writeProblemDoc(w, problemOf(r.Context(), http.StatusBadRequest, detail))
}

func writeProblemDoc(w http.ResponseWriter, p *Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

var installErrors sync.Once

// installHumaErrors routes huma's own errors (validation, body too large,
// handler errors) through problemOf. huma keeps this hook in a package
// variable, so it is set once per process; it holds no per-server state.
func installHumaErrors() {
	installErrors.Do(func() {
		huma.NewErrorWithContext = func(hctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
			ctx := context.Background()
			if hctx != nil {
				ctx = hctx.Context()
			}
			return problemOf(ctx, status, msg, errs...)
		}
		huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
			return problemOf(context.Background(), status, msg, errs...)
		}
	})
}

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyLogger
	keyPrincipal
	keyClientAddr
)

func requestIDFrom(ctx context.Context) string {
	s, _ := ctx.Value(keyRequestID).(string)
	return s
}

func loggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(keyLogger).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}
