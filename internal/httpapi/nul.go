package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/parleyhq/parley/internal/domain"
)

// NUL characters (U+0000) are refused in every API input, in one place: the
// databases cannot store them (PostgreSQL rejects them in text and jsonb,
// SQLite truncates C strings at them), so a NUL that reached a query became
// a 500. Refusing it at the edge with the field's pointer is clearer than
// cleaning it somewhere deep and storing something the caller did not send.
// Webhooks are raw routes and clean their own text.

const nulMessage = "contains a NUL character (U+0000), which Parley does not accept in any text; remove it"

// nulError is the 422 for a NUL at a body pointer or a non-body location.
func nulError(pointer, location string) error {
	where := pointer
	if location != "" {
		where = location
	}
	if where == "" {
		where = "the request body"
	}
	msg := where + " " + nulMessage
	return &domain.Error{Code: domain.CodeUnprocessable, Message: msg,
		Fields: []domain.FieldError{{Pointer: pointer, Location: location, Code: "nul_character", Message: msg}}}
}

// rejectNULInURL refuses a NUL in the path or the query string. It runs
// before authentication: the path parameters are looked up in the database
// to scope the request, and a NUL there must not reach a query.
func (s *Server) rejectNULInURL(ctx huma.Context, next func(huma.Context)) {
	u := ctx.URL()
	if strings.Contains(u.Path, "\x00") {
		_ = huma.WriteErr(s.api, ctx, http.StatusInternalServerError, "", nulError("", "path"))
		return
	}
	if strings.Contains(u.RawQuery, "%00") || strings.Contains(u.RawQuery, "\x00") {
		for name, values := range u.Query() {
			bad := strings.Contains(name, "\x00")
			for _, v := range values {
				bad = bad || strings.Contains(v, "\x00")
			}
			if bad {
				_ = huma.WriteErr(s.api, ctx, http.StatusInternalServerError, "", nulError("", "query."+strings.ReplaceAll(name, "\x00", `\u0000`)))
				return
			}
		}
	}
	next(ctx)
}

// rejectNULInBody refuses a JSON body with a NUL in any string or key,
// naming the first one's pointer. It runs after authentication, so only a
// caller with access to the route makes the server read a body here; the
// body is read once, within the route's size limit, and handed on to huma.
func (s *Server) rejectNULInBody(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if op == nil || op.RequestBody == nil {
		next(ctx)
		return
	}
	if strings.HasPrefix(ctx.Header("Content-Type"), "multipart/") {
		// Uploads (datasets, up to 200 MB) are streamed, never held whole;
		// their reader removes NULs itself and says so.
		next(ctx)
		return
	}
	limit := op.MaxBodyBytes
	if limit <= 0 {
		limit = s.deps.MaxBodyBytes
	}
	r := ctx.BodyReader()
	if r == nil {
		next(ctx)
		return
	}
	// One byte past the limit lets huma see the body is too large and say so.
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		// huma reports the read error (timeout, reset) when it reads the rest.
		next(bodyContext{innerContext: ctx, body: io.MultiReader(bytes.NewReader(body), r)})
		return
	}
	if int64(len(body)) <= limit {
		if pointer, found := nulPointer(body); found {
			_ = huma.WriteErr(s.api, ctx, http.StatusInternalServerError, "", nulError(pointer, ""))
			return
		}
	}
	next(bodyContext{innerContext: ctx, body: io.MultiReader(bytes.NewReader(body), r)})
}

// bodyContext hands huma a body already read by a middleware.
type bodyContext struct {
	innerContext
	body io.Reader
}

// innerContext lets bodyContext embed a huma.Context, whose Context method
// would clash with a field named Context.
type innerContext huma.Context

// BodyReader implements huma.Context.
func (c bodyContext) BodyReader() io.Reader { return c.body }

// Unwrap lets adapters reach the request beneath.
func (c bodyContext) Unwrap() huma.Context { return c.innerContext }

// maxNULDepth bounds the walk's recursion; deeper documents are left to the
// JSON decoder, which refuses them.
const maxNULDepth = 1000

// nulPointer returns the JSON pointer of the first string or key of body,
// in document order, holding U+0000 (escaped as \u0000 or, invalidly, as a
// raw byte). Bodies without either are not parsed at all.
func nulPointer(body []byte) (string, bool) {
	raw := bytes.IndexByte(body, 0) >= 0
	if !raw && !bytes.Contains(body, []byte(`\u0000`)) {
		return "", false
	}
	if raw {
		// A raw NUL is not valid JSON; escaped, it shows where it was.
		body = bytes.ReplaceAll(body, []byte{0}, []byte(`\u0000`))
	}
	pointer, found, err := walkNUL(json.NewDecoder(bytes.NewReader(body)), "", 0)
	if err != nil && raw {
		// Not JSON even so: still refuse, without a pointer.
		return "", true
	}
	return pointer, found
}

var errTooDeep = errors.New("too deep")

func walkNUL(dec *json.Decoder, pointer string, depth int) (string, bool, error) {
	if depth > maxNULDepth {
		return "", false, errTooDeep
	}
	tok, err := dec.Token()
	if err != nil {
		return "", false, err
	}
	switch v := tok.(type) {
	case string:
		return pointer, strings.Contains(v, "\x00"), nil
	case json.Delim:
		switch v {
		case '{':
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return "", false, err
				}
				key, _ := k.(string)
				child := pointer + "/" + escapePointer(strings.ReplaceAll(key, "\x00", `\u0000`))
				if strings.Contains(key, "\x00") {
					return child, true, nil
				}
				if p, found, err := walkNUL(dec, child, depth+1); found || err != nil {
					return p, found, err
				}
			}
		case '[':
			for i := 0; dec.More(); i++ {
				if p, found, err := walkNUL(dec, pointer+"/"+strconv.Itoa(i), depth+1); found || err != nil {
					return p, found, err
				}
			}
		}
		_, err := dec.Token() // the closing delimiter
		return "", false, err
	}
	return "", false, nil
}
