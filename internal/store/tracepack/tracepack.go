// Package tracepack is how a sprint's trace is stored: its events as one
// JSON array (the form session_traces.events held, and the API and the
// campaign report read), deflated with a preset dictionary of the words
// every trace repeats (event kinds, field names, the runner's layout). A
// parked session's trace — a node entered, an edge taken, a wait and its
// timer — is ~750 bytes of JSON and ~110 bytes packed, which is most of
// what a waiting session costs beyond its row.
//
// A packed trace starts with a version byte: the dictionary cannot change
// under stored rows, so a new dictionary is a new version, and Unpack
// keeps reading every version it ever wrote.
package tracepack

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	kflate "github.com/klauspost/compress/flate"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/jsontext"
)

// v1 marks a trace deflated with dictV1.
const v1 = 1

// dictV1 is the preset dictionary of version 1: what trace JSON repeats,
// the most common last (deflate reaches nearer matches more cheaply).
// Never change it: add a version.
const dictV1 = `"text":"","value":"message_id":"message":{"type":"text","buttons":[]"status":"completed","error":"llm_called","http_called",` +
	`"subflow_started","subflow_ended","input_ignored","input_recorded","contact_changed","change":"variable_set","name":"session_ended",` +
	`"message_out","node_id":"start","data":{"kind":"node_entered","node":"start"}},{"kind":"edge_taken","exit":"next","edge":"e1"}},` +
	`{"kind":"waiting","name":"reply","seq":1,"at":"2026-01-01T00:00:00.000000000Z"}},{"kind":"timer_set","node_id":"`

// Packing uses klauspost/compress's deflate, reading the standard library's:
// the stream is plain deflate either way. Every sprint packs a trace, and
// the standard library's writer clears 640 KB of hash tables on each Reset:
// it took 19.1 µs for a parked session's trace (112 bytes), this one 10.0 µs
// (115 bytes; BenchmarkPack).
var (
	writers = sync.Pool{New: func() any {
		w, err := kflate.NewWriterDict(io.Discard, kflate.DefaultCompression, []byte(dictV1))
		if err != nil {
			panic(err) // only for an invalid level
		}
		return w
	}}
	readers = sync.Pool{New: func() any { return flate.NewReaderDict(bytes.NewReader(nil), []byte(dictV1)) }}
)

// JSON is the events as one trace row holds them: a JSON array of
// {"kind", "node_id", "data"}. Their data is JSON already (the runner
// encoded it) and is written as it is.
func JSON(events []domain.TraceEvent) []byte {
	return appendJSON(nil, events)
}

// appendJSON is JSON appended to dst, grown once to the events' size.
func appendJSON(dst []byte, events []domain.TraceEvent) []byte {
	n := 2
	for _, e := range events {
		n += len(e.Kind) + len(e.NodeID) + len(e.Data) + len(`{"kind":"","node_id":"","data":{}},`)
	}
	dst = slices.Grow(dst, n)
	dst = append(dst, '[')
	for i, e := range events {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"kind":`...)
		dst = jsontext.AppendString(dst, e.Kind)
		dst = append(dst, `,"node_id":`...)
		dst = jsontext.AppendString(dst, e.NodeID)
		dst = append(dst, `,"data":`...)
		if len(e.Data) == 0 {
			dst = append(dst, "{}"...)
		} else {
			dst = append(dst, e.Data...)
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// scratch holds a trace's JSON while Pack deflates it.
var scratch = sync.Pool{New: func() any { return new([]byte) }}

// Pack is the events packed: their JSON (see JSON), deflated.
func Pack(events []domain.TraceEvent) []byte {
	buf := scratch.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= 64<<10 { // an outsized trace's buffer is not kept
			scratch.Put(buf)
		}
	}()
	*buf = appendJSON((*buf)[:0], events)
	// A trace deflates to about a sixth with the dictionary.
	out := bytes.NewBuffer(make([]byte, 0, len(*buf)/4+16))
	out.WriteByte(v1)
	w := writers.Get().(*kflate.Writer)
	defer writers.Put(w)
	w.Reset(out)
	// Writes to a bytes.Buffer do not fail.
	_, _ = w.Write(*buf)
	_ = w.Close()
	return out.Bytes()
}

// Unpack is the JSON array a packed trace holds.
func Unpack(packed []byte) ([]byte, error) {
	if len(packed) == 0 {
		return nil, errors.New("tracepack: empty")
	}
	if packed[0] != v1 {
		return nil, fmt.Errorf("tracepack: unknown version %d", packed[0])
	}
	r := readers.Get().(io.ReadCloser)
	defer readers.Put(r)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(packed[1:]), []byte(dictV1)); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(r); err != nil {
		return nil, fmt.Errorf("tracepack: %w", err)
	}
	return out.Bytes(), nil
}
