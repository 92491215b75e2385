//go:build !linux && !darwin

package dataset

// table is a phoneSet's slots, in the Go heap on this system.
type table struct {
	keys []uint64
	rows []uint32
}

// tableAlloc allocates zeroed slots for n entries.
func tableAlloc(n int) *table {
	return &table{keys: make([]uint64, n), rows: make([]uint32, n)}
}

// free drops the slots for the garbage collector.
func (t *table) free() { t.keys, t.rows = nil, nil }
