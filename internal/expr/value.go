package expr

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// ToString formats a value the way templates print it: nil is empty, floats
// drop trailing zeros, times use RFC 3339, lists of scalars are joined with
// ", " and other composites are JSON.
func ToString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case uint:
		return strconv.FormatUint(uint64(x), 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		return formatFloat(x)
	case float32:
		return formatFloat(float64(x))
	case json.Number:
		return x.String()
	case time.Time:
		return x.Format(time.RFC3339)
	case time.Duration:
		return x.String()
	case []string:
		return strings.Join(x, ", ")
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			switch e.(type) {
			case map[string]any, []any:
				return toJSON(v)
			}
			parts[i] = ToString(e)
		}
		return strings.Join(parts, ", ")
	case error:
		return x.Error()
	}
	return toJSON(v)
}

func formatFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return ""
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func toJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// ToNumber converts numbers and numeric text (surrounding spaces and a
// thousands separator comma allowed) to a number: an int when the value is
// integral and exact, else a float64.
func ToNumber(v any) (any, bool) {
	var f float64
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case int32:
		return int(x), true
	case uint:
		return int(x), true
	case uint64:
		return int(x), true
	case float64:
		f = x
	case float32:
		f = float64(x)
	case json.Number:
		n, err := x.Float64()
		if err != nil {
			return nil, false
		}
		f = n
	case string:
		s := strings.ReplaceAll(strings.TrimSpace(x), ",", "")
		if s == "" {
			return nil, false
		}
		if i, err := strconv.Atoi(s); err == nil {
			return i, true
		}
		n, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
			return nil, false
		}
		f = n
	default:
		return nil, false
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int(f), true
	}
	return f, true
}

// toFloat widens a value returned by ToNumber.
func toFloat(n any) float64 {
	switch x := n.(type) {
	case int:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

// ToFloat converts numbers and numeric text to float64.
func ToFloat(v any) (float64, bool) {
	n, ok := ToNumber(v)
	if !ok {
		return 0, false
	}
	return toFloat(n), true
}

var dateLayouts = [...]string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02",
	"02/01/2006",
	"02.01.2006",
}

// ToTime converts a time.Time or text in one of the accepted date forms
// (RFC 3339, 2006-01-02[ 15:04[:05]], 02/01/2006, 02.01.2006).
func ToTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		s := strings.TrimSpace(x)
		for _, l := range dateLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// IsEmpty reports whether v is nil, blank text, or an empty list or map.
func IsEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case []any:
		return len(x) == 0
	case []string:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Map, reflect.Array:
		return rv.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// Truthy is the boolean reading of a value: false, nil, 0, "", "false",
// "no", "0" and empty collections are false; everything else is true.
func Truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case nil:
		return false
	case int:
		return x != 0
	case float64:
		return x != 0
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "", "false", "no", "0":
			return false
		}
		return true
	}
	if n, ok := ToNumber(v); ok {
		return toFloat(n) != 0
	}
	return !IsEmpty(v)
}
