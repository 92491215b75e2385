//go:build race

package sqlite

// raceDetector reports a -race build: tests that only measure sizes, and
// would run ten times slower, skip themselves then.
const raceDetector = true
