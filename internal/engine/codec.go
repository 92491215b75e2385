package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// The first byte of an encoded session says what follows: codecVersion a
// whole session (MarshalBinary), hostVersion one without what its host keeps
// (AppendState). Add a version when the layout changes and keep decoding
// the older ones.
const (
	codecVersion = 1
	hostVersion  = 2
)

// ErrContactHeld is returned for a session decoded without its contact
// (UnmarshalState): by Resume when the input brings none (the flow would run
// with an empty contact), and by MarshalBinary, or AppendState for other
// keys, which would encode it whole with an empty contact.
var ErrContactHeld = errors.New("engine: the session's contact is kept by the host: resume it with Input.Contact")

// HostKeys are what a host keeps of a session in its own record of it: the
// session's ID, its root flow's ID, its contact's ID, when it was created
// and when it expires.
type HostKeys struct {
	ID, FlowID, ContactID string
	CreatedAt, ExpiresAt  time.Time
}

// ErrCorrupt is wrapped by UnmarshalBinary errors.
var ErrCorrupt = errors.New("engine: corrupt session state")

// Value tags of the binary encoding.
const (
	tagNil byte = iota
	tagFalse
	tagTrue
	tagInt
	tagFloat
	tagString
	tagList
	tagMap
	tagTime
)

// maxValueDepth bounds nesting when decoding, so hostile input cannot
// exhaust the stack.
const maxValueDepth = 64

// MarshalBinary encodes the session compactly: a version byte, then the
// fields as varints and length-prefixed strings, maps with sorted keys (the
// same session always encodes to the same bytes).
func (s *Session) MarshalBinary() ([]byte, error) {
	return s.AppendBinary(make([]byte, 0, 256))
}

// AppendBinary appends the encoding of MarshalBinary to b.
func (s *Session) AppendBinary(b []byte) ([]byte, error) {
	return s.appendEncoding(b, false)
}

// AppendState appends the encoding of s for a host that keeps k in its
// record of the session and passes the current contact to every Resume
// (Input.Contact): k and the contact are left out, since the host would
// otherwise store them twice — with UUIDs, some 130 of a waiting session's
// 180 bytes, and a contact's fields and tags besides. A session that differs
// from k is encoded whole, as MarshalBinary does, so nothing is lost.
// Decode it with UnmarshalState.
func (s *Session) AppendState(b []byte, k HostKeys) ([]byte, error) {
	held := s.ID == k.ID && s.FlowID == k.FlowID && s.Contact.ID == k.ContactID &&
		s.CreatedAt.Equal(k.CreatedAt) && s.ExpiresAt.Equal(k.ExpiresAt)
	return s.appendEncoding(b, held)
}

func (s *Session) appendEncoding(b []byte, held bool) ([]byte, error) {
	w := writer{b: b}
	if held {
		w.b = append(w.b, hostVersion)
	} else {
		if s.contactMissing {
			// Encoded whole, it would claim an empty contact.
			return b, ErrContactHeld
		}
		w.b = append(w.b, codecVersion)
		w.str(s.ID)
		w.str(s.FlowID)
	}
	w.int(s.Revision)
	w.b = append(w.b, byte(s.Status))
	w.int(s.Node)
	w.count(len(s.Frames), s.Frames == nil)
	for _, f := range s.Frames {
		w.str(f.FlowID)
		w.int(f.Revision)
		w.int(f.Return)
	}
	w.b = append(w.b, byte(s.Wait.Kind))
	w.b = binary.AppendUvarint(w.b, uint64(s.Wait.Seq))
	w.int(s.Wait.Retries)
	w.time(s.Wait.TimeoutAt)
	w.int(s.Steps)
	if !held {
		w.time(s.CreatedAt)
		w.time(s.ExpiresAt)
		c := &s.Contact
		w.str(c.ID)
		w.str(c.Name)
		w.str(c.Phone)
		w.str(c.Language)
		w.dict(c.Fields, 0)
		w.count(len(c.Tags), c.Tags == nil)
		for _, t := range c.Tags {
			w.str(t)
		}
	}
	w.dict(s.Vars, 0)
	w.dict(s.Row, 0)
	in := &s.Input
	w.str(in.Type)
	w.str(in.Text)
	w.str(in.Button)
	w.str(in.ListID)
	w.str(in.MediaURL)
	w.dict(in.Data, 0)
	w.str(s.EndReason)
	return w.b, w.err
}

type writer struct {
	b   []byte
	err error
}

func (w *writer) int(n int) { w.b = binary.AppendVarint(w.b, int64(n)) }

func (w *writer) str(s string) {
	w.b = binary.AppendUvarint(w.b, uint64(len(s)))
	w.b = append(w.b, s...)
}

// count writes a length with nil kept distinct from empty (0 = nil).
func (w *writer) count(n int, isNil bool) {
	if isNil {
		w.b = append(w.b, 0)
		return
	}
	w.b = binary.AppendUvarint(w.b, uint64(n)+1)
}

func (w *writer) time(t time.Time) {
	if t.IsZero() {
		w.b = append(w.b, 0)
		return
	}
	w.b = append(w.b, 1)
	w.b = binary.AppendVarint(w.b, t.Unix())
	w.b = binary.AppendUvarint(w.b, uint64(t.Nanosecond()))
}

func (w *writer) dict(m map[string]any, depth int) {
	w.count(len(m), m == nil)
	if len(m) == 0 {
		return
	}
	var buf [16]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		w.str(k)
		w.value(m[k], depth+1)
	}
}

func (w *writer) value(v any, depth int) {
	if depth > maxValueDepth {
		w.fail(fmt.Errorf("values nested deeper than %d", maxValueDepth))
		return
	}
	switch x := v.(type) {
	case nil:
		w.b = append(w.b, tagNil)
	case bool:
		if x {
			w.b = append(w.b, tagTrue)
		} else {
			w.b = append(w.b, tagFalse)
		}
	case int:
		w.b = append(w.b, tagInt)
		w.int(x)
	case float64:
		w.b = append(w.b, tagFloat)
		w.b = binary.LittleEndian.AppendUint64(w.b, math.Float64bits(x))
	case string:
		w.b = append(w.b, tagString)
		w.str(x)
	case time.Time:
		w.b = append(w.b, tagTime)
		w.time(x)
	case []any:
		w.b = append(w.b, tagList)
		w.b = binary.AppendUvarint(w.b, uint64(len(x)))
		for _, e := range x {
			w.value(e, depth+1)
		}
	case map[string]any:
		w.b = append(w.b, tagMap)
		w.dict(x, depth)
	default:
		// The engine normalises every stored value; this only happens when
		// a host put a foreign type into a session by hand.
		w.value(normalize(v), depth+1)
	}
}

func (w *writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// UnmarshalBinary decodes a session encoded by MarshalBinary. It never
// panics on bad input: truncated or hostile data gives an error wrapping
// ErrCorrupt.
func (s *Session) UnmarshalBinary(data []byte) error {
	if len(data) > 0 && data[0] == hostVersion {
		return fmt.Errorf("%w: encoded without its IDs and contact (AppendState): decode it with UnmarshalState", ErrCorrupt)
	}
	return s.decode(data, HostKeys{})
}

// UnmarshalState decodes a session encoded by AppendState or MarshalBinary,
// taking what AppendState left out from k. Such a session has no contact
// but its ID until it is resumed with Input.Contact (Resume refuses
// otherwise, ErrContactHeld); its Vars, Row and wait are all there.
func (s *Session) UnmarshalState(data []byte, k HostKeys) error {
	return s.decode(data, k)
}

func (s *Session) decode(data []byte, k HostKeys) error {
	if len(data) == 0 {
		return fmt.Errorf("%w: empty", ErrCorrupt)
	}
	held := data[0] == hostVersion
	if data[0] != codecVersion && !held {
		return fmt.Errorf("%w: unknown version %d", ErrCorrupt, data[0])
	}
	// One string holds all the bytes; every decoded string is a substring
	// of it, which makes decoding cost one allocation for all strings.
	r := reader{s: string(data), i: 1}
	var out Session
	if held {
		out.ID, out.FlowID = k.ID, k.FlowID
	} else {
		out.ID = r.str()
		out.FlowID = r.str()
	}
	out.Revision = r.int()
	out.Status = Status(r.byte())
	out.Node = r.int()
	if n, ok := r.count(3); ok {
		out.Frames = make([]Frame, n)
		for i := range out.Frames {
			out.Frames[i] = Frame{FlowID: r.str(), Revision: r.int(), Return: r.int()}
		}
	}
	out.Wait.Kind = WaitKind(r.byte())
	out.Wait.Seq = uint32(r.uvarint())
	out.Wait.Retries = r.int()
	out.Wait.TimeoutAt = r.time()
	out.Steps = r.int()
	c := &out.Contact
	if held {
		out.CreatedAt, out.ExpiresAt = hostTime(k.CreatedAt), hostTime(k.ExpiresAt)
		c.ID, out.contactMissing = k.ContactID, true
	} else {
		out.CreatedAt = r.time()
		out.ExpiresAt = r.time()
		c.ID, c.Name, c.Phone, c.Language = r.str(), r.str(), r.str(), r.str()
		c.Fields = r.dict(0)
		if n, ok := r.count(1); ok {
			c.Tags = make([]string, n)
			for i := range c.Tags {
				c.Tags[i] = r.str()
			}
		}
	}
	out.Vars = r.dict(0)
	out.Row = r.dict(0)
	in := &out.Input
	in.Type, in.Text, in.Button, in.ListID, in.MediaURL = r.str(), r.str(), r.str(), r.str(), r.str()
	in.Data = r.dict(0)
	out.EndReason = r.str()
	if r.err == nil && r.i != len(r.s) {
		r.fail("trailing bytes")
	}
	if r.err == nil && (out.Status == 0 || out.Status > StatusInterrupted || out.Wait.Kind > WaitAIReply) {
		r.fail("invalid status or wait kind")
	}
	if r.err != nil {
		return r.err
	}
	*s = out
	return nil
}

// hostTime is t as the engine keeps its times (UTC, no monotonic reading),
// whatever location the host's record read it in.
func hostTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Round(0)
}

type reader struct {
	s   string
	i   int
	err error
}

func (r *reader) fail(msg string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at byte %d", ErrCorrupt, msg, r.i)
	}
	r.i = len(r.s)
}

func (r *reader) byte() byte {
	if r.i >= len(r.s) {
		r.fail("truncated")
		return 0
	}
	b := r.s[r.i]
	r.i++
	return b
}

func (r *reader) uvarint() uint64 {
	var x uint64
	var shift uint
	for n := 0; n < binary.MaxVarintLen64; n++ {
		if r.i >= len(r.s) {
			r.fail("truncated varint")
			return 0
		}
		b := r.s[r.i]
		r.i++
		if b < 0x80 {
			return x | uint64(b)<<shift
		}
		x |= uint64(b&0x7f) << shift
		shift += 7
	}
	r.fail("varint overflow")
	return 0
}

func (r *reader) int() int {
	ux := r.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return int(x)
}

// length reads a length that must fit in the remaining bytes, each element
// taking at least min bytes (this bounds allocations by the input size).
func (r *reader) length(min int) int {
	n := r.uvarint()
	if n > uint64(len(r.s)-r.i)/uint64(max(min, 1)) {
		r.fail("length exceeds the data")
		return 0
	}
	return int(n)
}

func (r *reader) count(min int) (int, bool) {
	n := r.uvarint()
	if n == 0 {
		return 0, false
	}
	n--
	if n > uint64(len(r.s)-r.i)/uint64(min) {
		r.fail("length exceeds the data")
		return 0, false
	}
	return int(n), true
}

func (r *reader) str() string {
	n := r.length(1)
	if r.err != nil {
		return ""
	}
	s := r.s[r.i : r.i+n]
	r.i += n
	return s
}

func (r *reader) time() time.Time {
	switch r.byte() {
	case 0:
		return time.Time{}
	case 1:
		sec := r.uvarint()
		ns := r.uvarint()
		if ns >= 1e9 {
			r.fail("invalid nanoseconds")
			return time.Time{}
		}
		x := int64(sec >> 1)
		if sec&1 != 0 {
			x = ^x
		}
		return time.Unix(x, int64(ns)).UTC()
	}
	r.fail("invalid time flag")
	return time.Time{}
}

func (r *reader) dict(depth int) map[string]any {
	n, ok := r.count(2)
	if !ok {
		return nil
	}
	m := make(map[string]any, n)
	for i := 0; i < n && r.err == nil; i++ {
		k := r.str()
		m[k] = r.value(depth + 1)
	}
	return m
}

func (r *reader) value(depth int) any {
	if depth > maxValueDepth {
		r.fail("values nested too deep")
		return nil
	}
	switch r.byte() {
	case tagNil:
		return nil
	case tagFalse:
		return false
	case tagTrue:
		return true
	case tagInt:
		return r.int()
	case tagFloat:
		if len(r.s)-r.i < 8 {
			r.fail("truncated float")
			return nil
		}
		u := binary.LittleEndian.Uint64([]byte(r.s[r.i : r.i+8]))
		r.i += 8
		return math.Float64frombits(u)
	case tagString:
		return r.str()
	case tagTime:
		return r.time()
	case tagList:
		n := r.length(1)
		l := make([]any, n)
		for i := 0; i < n && r.err == nil; i++ {
			l[i] = r.value(depth + 1)
		}
		return l
	case tagMap:
		return r.dict(depth)
	}
	r.fail("unknown value tag")
	return nil
}
