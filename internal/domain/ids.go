package domain

import (
	"time"

	"github.com/google/uuid"
)

// Clock tells the time. Production uses SystemClock; tests inject a fixed or
// stepping clock so that every run is reproducible.
type Clock interface {
	Now() time.Time
}

// IDGen makes new unique IDs. Production uses UUIDv7 (time-ordered, so lists
// ordered by ID are ordered by creation); tests inject a deterministic one.
type IDGen interface {
	NewID() string
}

// SystemClock is the wall clock, in UTC.
type SystemClock struct{}

// Now returns the current time in UTC, to the microsecond and without the
// monotonic reading, so that stored and compared values agree: PostgreSQL
// keeps microseconds, and SQLite, which stores times as text, then keeps the
// same value in three bytes less per time (a million waiting sessions hold
// seven times each).
func (SystemClock) Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// UUIDv7 generates time-ordered UUIDs.
type UUIDv7 struct{}

// NewID returns a new UUIDv7 in its canonical text form.
func (UUIDv7) NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// NewV7 fails only when the system random source fails, which leaves
		// nothing sensible to do.
		panic("generating a UUIDv7: " + err.Error())
	}
	return id.String()
}
