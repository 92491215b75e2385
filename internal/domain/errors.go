// Package domain holds the vocabulary every other package shares: IDs, the
// clock, error codes and the core records. It imports only the standard
// library so that anything may depend on it.
package domain

import (
	"errors"
	"fmt"
)

// Code classifies an error so that each transport (HTTP, CLI) can map it to
// its own status in one place.
type Code string

// The error codes. Their HTTP statuses are fixed in internal/httpapi/problem.go.
const (
	CodeInvalid       Code = "invalid"       // input that breaks a rule (with the field's pointer)
	CodeMalformed     Code = "malformed"     // a body that cannot be parsed at all (not JSON, not UTF-8)
	CodeUnprocessable Code = "unprocessable" // well-formed but semantically wrong (lint errors)
	CodeNotFound      Code = "not_found"     // missing, or belongs to another project
	CodeConflict      Code = "conflict"      // duplicate, stale revision, wrong state
	CodeUnauthorized  Code = "unauthorized"  // no or bad credentials
	CodeForbidden     Code = "forbidden"     // authenticated but the role does not allow it
	CodeTooLarge      Code = "too_large"     // body or document over a limit
	CodeRateLimited   Code = "rate_limited"  // slow down
	CodeUnavailable   Code = "unavailable"   // a dependency is down
	CodeInternal      Code = "internal"      // a bug or an unexpected failure
)

// FieldError names one problem with one field of an input document.
type FieldError struct {
	// Pointer is the RFC 6901 JSON pointer of the field in the request body.
	Pointer string `json:"pointer,omitempty"`
	// Location names a non-body input, e.g. "query.limit" or "path.flow_id".
	Location string `json:"location,omitempty"`
	// Code is a stable machine-readable code, e.g. "required" or a linter code.
	Code string `json:"code,omitempty"`
	// Message says what is wrong and, where it helps, how to fix it.
	Message string `json:"message"`
	// Severity is "error" or "warning" for linter problems; empty otherwise.
	Severity string `json:"severity,omitempty"`
	// NodeID and EdgeID locate a problem in a flow graph.
	NodeID string `json:"node_id,omitempty"`
	EdgeID string `json:"edge_id,omitempty"`
}

// Error is an error with a Code, a human message and, optionally, the fields
// that were wrong.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
	// Err is the wrapped cause, kept for logs; it is never shown to API callers.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap exposes the cause to errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, domain.ErrNotFound) true for any Error with the same
// code, so callers test classes of failure, not message text.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// Sentinel errors to test with errors.Is. They carry no message on purpose:
// Is matches them by code alone.
var (
	ErrNotFound     = &Error{Code: CodeNotFound}
	ErrConflict     = &Error{Code: CodeConflict}
	ErrInvalid      = &Error{Code: CodeInvalid}
	ErrUnauthorized = &Error{Code: CodeUnauthorized}
	ErrForbidden    = &Error{Code: CodeForbidden}
)

// Errorf returns an Error with the given code and a formatted message. A
// %w verb in format is honoured and becomes the wrapped cause.
func Errorf(code Code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: err.Error(), Err: errors.Unwrap(err)}
}

// Invalid returns a CodeInvalid error naming the field at pointer.
func Invalid(pointer, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Code: CodeInvalid, Message: msg, Fields: []FieldError{{Pointer: pointer, Message: msg}}}
}

// NotFound returns a CodeNotFound error for a thing of the given kind.
func NotFound(kind, id string) *Error {
	return &Error{Code: CodeNotFound, Message: fmt.Sprintf("%s %q not found", kind, id)}
}

// CodeOf returns the code of the first Error in err's chain, or CodeInternal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}
