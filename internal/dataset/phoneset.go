package dataset

// phoneSet maps each phone of an upload to the first row that had it, in 12
// bytes a slot: a million phones fit in 24 MB where a Go map took 36. The
// slots live outside the Go heap where the platform allows (tableAlloc), so
// the garbage collector neither scans them nor paces the heap by them: a
// map this size in the heap let the heap grow to twice its size before
// each collection, which kept a million-row upload above 150 MB resident.
// Call release when done; the set must not be used after.
type phoneSet struct {
	keys []uint64 // the phone's digits plus one; 0 is an empty slot
	rows []uint32 // the first row that had the phone
	n    int
	bits uint
	mem  *table
}

// phoneSetMinBits is the starting capacity, 4,096 slots (48 KB).
const phoneSetMinBits = 12

func newPhoneSet() *phoneSet {
	s := &phoneSet{}
	s.resize(phoneSetMinBits)
	return s
}

// resize moves every entry into a table of 2^b slots.
func (s *phoneSet) resize(b uint) {
	oldKeys, oldRows, oldMem := s.keys, s.rows, s.mem
	s.mem = tableAlloc(1 << b)
	s.keys, s.rows, s.bits = s.mem.keys, s.mem.rows, b
	for i, k := range oldKeys {
		if k != 0 {
			j := s.slot(k)
			s.keys[j], s.rows[j] = k, oldRows[i]
		}
	}
	if oldMem != nil {
		oldMem.free()
	}
}

// slot returns where k is, or the empty slot where it would go.
func (s *phoneSet) slot(k uint64) uint64 {
	mask := uint64(1)<<s.bits - 1
	// Fibonacci hashing: consecutive numbers, common in uploads, spread.
	i := (k * 0x9E3779B97F4A7C15) >> (64 - s.bits)
	for s.keys[i] != 0 && s.keys[i] != k {
		i = (i + 1) & mask
	}
	return i
}

// firstOrAdd returns the row that first had phone (digits of an E.164
// number, at most 15, so never the maximum uint64), or records row as its
// first and returns ok false.
func (s *phoneSet) firstOrAdd(phone uint64, row uint32) (first uint32, ok bool) {
	k := phone + 1
	i := s.slot(k)
	if s.keys[i] == k {
		return s.rows[i], true
	}
	s.keys[i], s.rows[i] = k, row
	s.n++
	// Linear probing stays short below three-quarters full.
	if s.n > (3<<s.bits)/4 {
		s.resize(s.bits + 1)
	}
	return 0, false
}

// release gives the slots back.
func (s *phoneSet) release() {
	if s.mem != nil {
		s.mem.free()
		s.mem, s.keys, s.rows = nil, nil, nil
	}
}
