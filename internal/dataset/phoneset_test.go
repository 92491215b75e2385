package dataset

import (
	"math/rand/v2"
	"testing"
)

// TestPhoneSetMatchesMap checks the set against a Go map through several
// resizes, with consecutive phones (as uploads often have), random ones and
// repeats.
func TestPhoneSetMatchesMap(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name  string
		phone func(i int) uint64
	}{
		{"consecutive", func(i int) uint64 { return 351910000000 + uint64(i) }},
		{"random with repeats", func(int) uint64 { return 1_000_000_000 + rng.Uint64N(60_000) }},
		{"longest E.164", func(i int) uint64 { return 999_999_999_999_999 - uint64(i%70_000) }},
		{"zero and tiny", func(i int) uint64 { return uint64(i % 5) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newPhoneSet()
			defer s.release()
			want := map[uint64]uint32{}
			for i := range 100_000 {
				p, row := tc.phone(i), uint32(i+1)
				first, dup := s.firstOrAdd(p, row)
				w, wdup := want[p]
				if dup != wdup || (dup && first != w) {
					t.Fatalf("row %d phone %d: got (%d, %v), want (%d, %v)", row, p, first, dup, w, wdup)
				}
				if !wdup {
					want[p] = row
				}
			}
			if s.n != len(want) {
				t.Fatalf("the set holds %d phones, want %d", s.n, len(want))
			}
			if len(want) > 1<<phoneSetMinBits && s.bits == phoneSetMinBits {
				t.Fatalf("the set never grew past %d slots with %d phones", 1<<phoneSetMinBits, len(want))
			}
		})
	}
}

// BenchmarkPhoneSet adds a million phones, a tenth of them twice.
func BenchmarkPhoneSet(b *testing.B) {
	for b.Loop() {
		s := newPhoneSet()
		for i := range 1_000_000 {
			s.firstOrAdd(351910000000+uint64(i%900_000), uint32(i+1))
		}
		s.release()
	}
}
