package channel

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"
)

// Replacement is what Clean puts in place of a NUL character or of bytes
// that are not UTF-8: U+FFFD, the Unicode replacement character, so that
// a reader sees something was there.
const Replacement = "\uFFFD"

// Timestamps a provider sends outside [EarliestTimestamp, receive time +
// FutureSkew] are replaced by the receive time: such a time is a
// provider's or an attacker's mistake, and a time past year 9999 cannot
// even be encoded.
var (
	EarliestTimestamp = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	FutureSkew        = 24 * time.Hour
)

// Clean makes an authentic event storable whatever its content, for every
// channel type alike: text holding NUL characters (which PostgreSQL text
// and jsonb refuse) or bytes that are not UTF-8 gets U+FFFD in their place,
// in every string of the event, its raw JSON and its form answers; a
// timestamp out of range becomes now, the receive time (a zero timestamp
// stays zero: the provider sent none).
func (e *Event) Clean(now time.Time) {
	cleanValue(reflect.ValueOf(e).Elem(), now)
}

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage(nil))
)

func cleanValue(v reflect.Value, now time.Time) {
	switch v.Kind() {
	case reflect.String:
		if s := v.String(); dirty(s) {
			v.SetString(CleanText(s))
		}
	case reflect.Pointer:
		if !v.IsNil() {
			cleanValue(v.Elem(), now)
		}
	case reflect.Struct:
		if v.Type() == timeType {
			t := v.Interface().(time.Time)
			if !t.IsZero() && (t.Before(EarliestTimestamp) || t.After(now.Add(FutureSkew))) {
				v.Set(reflect.ValueOf(now))
			}
			return
		}
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				cleanValue(f, now)
			}
		}
	case reflect.Slice:
		if v.Type() == rawType {
			if raw := v.Bytes(); len(raw) > 0 {
				v.SetBytes(cleanJSON(raw))
			}
			return
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // bytes are not text
		}
		for i := range v.Len() {
			cleanValue(v.Index(i), now)
		}
	case reflect.Array:
		for i := range v.Len() {
			cleanValue(v.Index(i), now)
		}
	case reflect.Map:
		if v.IsNil() || v.Type().Key().Kind() != reflect.String {
			return
		}
		clean := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			val := reflect.New(v.Type().Elem()).Elem()
			val.Set(it.Value())
			cleanValue(val, now)
			clean.SetMapIndex(reflect.ValueOf(CleanText(it.Key().String())).Convert(v.Type().Key()), val)
		}
		v.Set(clean)
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		// The dynamic value is not addressable: clean a copy and put it back.
		c := reflect.New(v.Elem().Type()).Elem()
		c.Set(v.Elem())
		cleanValue(c, now)
		v.Set(c)
	}
}

func dirty(s string) bool { return strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) }

// CleanText replaces NUL characters and bytes that are not UTF-8 with
// U+FFFD.
func CleanText(s string) string {
	if !dirty(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, Replacement), "\x00", Replacement)
}

// cleanJSON is raw JSON with the strings cleaned. JSON that does not parse
// is kept as a JSON string of its cleaned text, so it stays valid JSON to
// store.
func cleanJSON(raw []byte) []byte {
	if !bytes.Contains(raw, []byte(`\u0000`)) && !bytes.ContainsRune(raw, 0) && utf8.Valid(raw) && json.Valid(raw) {
		return raw
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil || dec.More() {
		out, _ := json.Marshal(CleanText(string(raw)))
		return out
	}
	c := reflect.New(reflect.TypeOf(&v).Elem()).Elem()
	c.Set(reflect.ValueOf(&v).Elem())
	cleanValue(c, time.Time{})
	out, err := json.Marshal(c.Interface())
	if err != nil {
		out, _ = json.Marshal(CleanText(string(raw)))
	}
	return out
}
