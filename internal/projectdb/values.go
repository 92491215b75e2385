package projectdb

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// dateLayouts are the date/time forms a datetime value may be written in.
var dateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"}

// convert turns a value from JSON, a CSV cell or a flow into the column's
// type (nil stays NULL; an empty text is NULL for every type but text).
func convert(c Column, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if s, ok := v.(string); ok && c.Type != TypeText && strings.TrimSpace(s) == "" {
		return nil, nil
	}
	switch c.Type {
	case TypeText:
		switch x := v.(type) {
		case string:
			return x, nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		case bool, int, int64, json.Number:
			return fmt.Sprint(x), nil
		}
		b, err := json.Marshal(v)
		return string(b), err
	case TypeNumber:
		switch x := v.(type) {
		case float64:
			return number(x), nil
		case int:
			return int64(x), nil
		case int64:
			return x, nil
		case json.Number:
			f, err := x.Float64()
			if err != nil {
				return nil, fmt.Errorf("column %q: %q is not a number", c.Name, x)
			}
			return number(f), nil
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, fmt.Errorf("column %q: %q is not a number", c.Name, x)
			}
			return number(f), nil
		}
	case TypeBoolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case float64:
			if x == 0 || x == 1 {
				return x == 1, nil
			}
		case int64:
			if x == 0 || x == 1 {
				return x == 1, nil
			}
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true", "t", "yes", "y", "1":
				return true, nil
			case "false", "f", "no", "n", "0":
				return false, nil
			}
		}
		return nil, fmt.Errorf("column %q: %v is not a boolean (true/false, yes/no, 1/0)", c.Name, v)
	case TypeDateTime:
		switch x := v.(type) {
		case time.Time:
			return x.UTC(), nil
		case string:
			x = strings.TrimSpace(x)
			for _, l := range dateLayouts {
				if t, err := time.Parse(l, x); err == nil {
					return t.UTC(), nil
				}
			}
			return nil, fmt.Errorf("column %q: %q is not a date/time (e.g. 2026-01-31 or 2026-01-31T14:00:00Z)", c.Name, x)
		}
	case TypeJSON:
		if s, ok := v.(string); ok {
			if json.Valid([]byte(s)) {
				return s, nil
			}
			b, err := json.Marshal(s)
			return string(b), err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", c.Name, err)
		}
		return string(b), nil
	}
	return nil, fmt.Errorf("column %q: %v (%T) cannot be stored as %s", c.Name, v, v, c.Type)
}

// number keeps whole numbers integers, so keys and counts stay exact.
func number(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f)
	}
	return f
}

// output turns a value read from the database into its JSON form for the
// column's type.
func output(t ColumnType, v any) any {
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	if v == nil {
		return nil
	}
	switch t {
	case TypeBoolean:
		switch x := v.(type) {
		case int64:
			return x != 0
		case float64:
			return x != 0
		}
	case TypeNumber:
		switch x := v.(type) {
		case float64:
			return number(x)
		case string:
			if f, err := strconv.ParseFloat(x, 64); err == nil {
				return number(f)
			}
		}
	case TypeDateTime:
		switch x := v.(type) {
		case time.Time:
			return x.UTC().Format(time.RFC3339Nano)
		case string:
			for _, l := range dateLayouts {
				if tm, err := time.Parse(l, x); err == nil {
					return tm.UTC().Format(time.RFC3339Nano)
				}
			}
		}
	case TypeJSON:
		if s, ok := v.(string); ok {
			var out any
			if json.Unmarshal([]byte(s), &out) == nil {
				return out
			}
		}
	}
	if tm, ok := v.(time.Time); ok {
		return tm.UTC().Format(time.RFC3339Nano)
	}
	return v
}

// plain turns a value of a console result into JSON's vocabulary.
func plain(v any) any {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return nil
		}
	}
	return v
}

// cell writes a value as a CSV cell.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		return strconv.FormatBool(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
