package dbcopy

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// sqliteTimeLayouts are the forms timestamps take in SQLite: Parley's
// driver writes the first, River the second, SQLite's own functions the last.
var sqliteTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05",
}

// riverTimeLayout is the one form River's SQLite driver compares with
// datetime('now', 'subsec'); other forms store fine and then compare wrong.
const riverTimeLayout = "2006-01-02 15:04:05.000"

// normalize turns a value as a driver read it into the one Go form db copy
// carries, at the precision the target keeps: PostgreSQL keeps microseconds,
// River's SQLite tables milliseconds.
func normalize(tp *tablePlan, c colPlan, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	bad := func() (any, error) {
		return nil, fmt.Errorf("%s.%s: a %T value (%v) where a %s was expected", tp.Name, c.Name, v, short(v), c.Kind)
	}
	switch c.Kind {
	case kText, kEnum:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		}
	case kInt, kBits:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int32:
			return int64(x), nil
		case int:
			return int64(x), nil
		case string:
			if n, err := strconv.ParseInt(x, 10, 64); err == nil {
				return n, nil
			}
		}
	case kFloat:
		switch x := v.(type) {
		case float64:
			return x, nil
		case float32:
			return float64(x), nil
		case int64:
			return float64(x), nil
		}
	case kBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		}
	case kTime:
		var t time.Time
		switch x := v.(type) {
		case time.Time:
			t = x
		case string:
			p, err := parseTime(x)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", tp.Name, c.Name, err)
			}
			t = p
		case []byte:
			p, err := parseTime(string(x))
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", tp.Name, c.Name, err)
			}
			t = p
		default:
			return bad()
		}
		t = t.UTC()
		if tp.River {
			return t.Round(time.Millisecond), nil
		}
		return t.Truncate(time.Microsecond), nil
	case kJSON, kArray:
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case []byte:
			s = string(x)
		default:
			return bad()
		}
		if !json.Valid([]byte(s)) {
			return nil, fmt.Errorf("%s.%s: not valid JSON: %s", tp.Name, c.Name, short(s))
		}
		return s, nil
	case kBytes:
		switch x := v.(type) {
		case []byte:
			return bytes.Clone(x), nil
		case string:
			return []byte(x), nil
		}
	}
	return bad()
}

func parseTime(s string) (time.Time, error) {
	for _, l := range sqliteTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a timestamp", s)
}

func short(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// toTarget is a normalized value as the target's driver takes it.
func toTarget(dialect string, tp *tablePlan, c colPlan, v any) any {
	if v == nil || dialect != dialectSQLite {
		return v
	}
	switch x := v.(type) {
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	case time.Time:
		if tp.River {
			return x.Format(riverTimeLayout)
		}
		return x
	}
	return v
}

// checksum is an order-independent digest of a table's rows: the sum,
// modulo 2^256, of each row's SHA-256. Rows come back in different orders
// from the two dialects (their text collations differ), and every copied
// table has a primary key, so a sum of row hashes compares the row sets.
type checksum struct {
	sum  [4]uint64
	rows int64
}

// add hashes one normalized row: every value tagged with its kind and
// length, JSON compared by meaning (PostgreSQL's jsonb reorders keys and
// drops spaces).
func (c *checksum) add(tp *tablePlan, row []any) error {
	h := sha256.New()
	var n [8]byte
	for i, v := range row {
		var b []byte
		tag := byte(tp.Cols[i].Kind) + 1
		switch x := v.(type) {
		case nil:
			tag = 0
		case string:
			if k := tp.Cols[i].Kind; k == kJSON || k == kArray {
				cb, err := canonicalJSON(x)
				if err != nil {
					return fmt.Errorf("%s.%s: %w", tp.Name, tp.Cols[i].Name, err)
				}
				b = cb
			} else {
				b = []byte(x)
			}
		case []byte:
			b = x
		case int64:
			b = strconv.AppendInt(nil, x, 10)
		case float64:
			b = strconv.AppendFloat(nil, x, 'g', -1, 64)
		case bool:
			b = strconv.AppendBool(nil, x)
		case time.Time:
			b = []byte(x.UTC().Format(time.RFC3339Nano))
		default:
			return fmt.Errorf("%s.%s: cannot checksum a %T", tp.Name, tp.Cols[i].Name, v)
		}
		h.Write([]byte{tag})
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	d := h.Sum(nil)
	var carry uint64
	for i := 3; i >= 0; i-- {
		c.sum[i], carry = bits.Add64(c.sum[i], binary.BigEndian.Uint64(d[i*8:]), carry)
	}
	c.rows++
	return nil
}

// String is the digest's first 16 hex digits, enough to compare by eye.
func (c *checksum) String() string {
	var b [32]byte
	for i := range c.sum {
		binary.BigEndian.PutUint64(b[i*8:], c.sum[i])
	}
	return hex.EncodeToString(b[:8])
}

func (c *checksum) equal(o *checksum) bool { return c.sum == o.sum && c.rows == o.rows }

func canonicalJSON(s string) ([]byte, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	return json.Marshal(v)
}
