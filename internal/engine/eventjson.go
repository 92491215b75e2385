package engine

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/parleyhq/parley/internal/jsontext"
)

// AppendJSON appends e's JSON to dst: the bytes json.Marshal writes for
// it (TestEventJSON), with the scalar fields every traced step has written
// by hand. The runner encodes every traced event of every sprint, and
// reflection over Event was most of that cost; the value, message and
// calls, rarer, still go through encoding/json.
func (e *Event) AppendJSON(dst []byte) ([]byte, error) {
	dst = append(dst, `{"kind":`...)
	dst = jsontext.AppendString(dst, e.Kind.String())
	field := func(name, v string) {
		if v != "" {
			dst = append(dst, `,"`...)
			dst = append(dst, name...)
			dst = append(dst, `":`...)
			dst = jsontext.AppendString(dst, v)
		}
	}
	field("flow", e.Flow)
	if e.Revision != 0 {
		dst = strconv.AppendInt(append(dst, `,"revision":`...), int64(e.Revision), 10)
	}
	field("node", e.Node)
	field("exit", e.Exit)
	field("edge", e.Edge)
	field("change", e.Change)
	field("name", e.Name)
	var err error
	if e.Value != nil {
		if dst, err = appendMarshaled(dst, `,"value":`, e.Value); err != nil {
			return dst, err
		}
	}
	field("text", e.Text)
	if e.Status != 0 {
		field("status", e.Status.String())
	}
	if e.Seq != 0 {
		dst = strconv.AppendUint(append(dst, `,"seq":`...), uint64(e.Seq), 10)
	}
	if !e.At.IsZero() {
		// time.Time's MarshalJSON: its text, quoted (and the same error
		// for a year out of RFC 3339's range).
		if dst, err = e.At.AppendText(append(dst, `,"at":"`...)); err != nil {
			return dst, fmt.Errorf("json: error calling MarshalJSON for type time.Time: %w", err)
		}
		dst = append(dst, '"')
	}
	if e.Message != nil {
		if dst, err = appendMarshaled(dst, `,"message":`, e.Message); err != nil {
			return dst, err
		}
	}
	if e.HTTP != nil {
		if dst, err = appendMarshaled(dst, `,"http":`, e.HTTP); err != nil {
			return dst, err
		}
	}
	if e.LLM != nil {
		if dst, err = appendMarshaled(dst, `,"llm":`, e.LLM); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// appendMarshaled appends name and v's JSON.
func appendMarshaled(dst []byte, name string, v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(append(dst, name...), raw...), nil
}
