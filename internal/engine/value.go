package engine

import (
	"encoding/json"
	"math"
	"time"

	"github.com/parleyhq/parley/internal/expr"
)

// normalize converts a value to the closed set of types sessions store and
// encode: nil, bool, int, float64, string, time.Time (UTC), []any and
// map[string]any. Everything else goes through JSON. Values are copied
// before being changed, never modified in place: they may belong to a
// compiled program (constant lists) or to the host.
func normalize(v any) any {
	switch x := v.(type) {
	case nil, bool, int, float64, string:
		return v
	case int64:
		return int(x)
	case int32:
		return int(x)
	case uint:
		return int(x)
	case uint32:
		return int(x)
	case uint64:
		if x > math.MaxInt64 {
			return float64(x)
		}
		return int(x)
	case float32:
		return float64(x)
	case json.Number:
		if n, ok := expr.ToNumber(x); ok {
			return n
		}
		return x.String()
	case time.Time:
		return x.UTC().Round(0)
	case time.Duration:
		return x.String()
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	case []any:
		if isNormal(v) {
			return v
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		if isNormal(v) {
			return v
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	}
	b, err := json.Marshal(v)
	if err != nil {
		return expr.ToString(v)
	}
	out, err := decodeJSON(b)
	if err != nil {
		return expr.ToString(v)
	}
	return out
}

// isNormal reports whether v needs no conversion.
func isNormal(v any) bool {
	switch x := v.(type) {
	case nil, bool, int, float64, string:
		return true
	case time.Time:
		return x.Location() == time.UTC && x == x.Round(0)
	case []any:
		for _, e := range x {
			if !isNormal(e) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, e := range x {
			if !isNormal(e) {
				return false
			}
		}
		return true
	}
	return false
}
