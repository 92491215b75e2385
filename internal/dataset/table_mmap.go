//go:build linux || darwin

package dataset

import (
	"syscall"
	"unsafe"
)

// table is a phoneSet's slots in anonymous memory mapped for them, outside
// the Go heap; its pages are resident only once written and go back to
// the system at free.
type table struct {
	keys []uint64
	rows []uint32
	mem  []byte
}

// tableAlloc maps zeroed memory for n slots, or falls back to the heap
// when the system refuses the mapping.
func tableAlloc(n int) *table {
	mem, err := syscall.Mmap(-1, 0, n*12, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return &table{keys: make([]uint64, n), rows: make([]uint32, n)}
	}
	// The mapping is page-aligned, so keys are 8-byte aligned and rows,
	// after them, 4-byte aligned.
	return &table{
		keys: unsafe.Slice((*uint64)(unsafe.Pointer(&mem[0])), n),
		rows: unsafe.Slice((*uint32)(unsafe.Pointer(&mem[n*8])), n),
		mem:  mem,
	}
}

// free unmaps the slots; the table must not be used after.
func (t *table) free() {
	if t.mem != nil {
		_ = syscall.Munmap(t.mem) // fails only for a mapping that is not one
	}
	t.keys, t.rows, t.mem = nil, nil, nil
}
