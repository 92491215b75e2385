// Package engine is Parley's pure chat-flow interpreter.
//
// It takes a compiled flow (*flow.Program), a Session and an input, runs one
// sprint (nodes until the session waits or ends) and returns the ordered
// Events the sprint produced. It performs no I/O of its own: time, IDs,
// randomness, HTTP calls, LLM calls and loading other flows go through the
// small interfaces of Services, so the production runner, the simulator, the
// CLI and the tests all run exactly the same code and every run is
// reproducible.
//
// The engine never imports the store, the channels, database/sql or an HTTP
// server. The host (internal/runner) applies the events in one transaction:
// it stores the session, queues the outbound messages, schedules the timers
// and records the trace and the analytics counters. docs/engine.md lists
// what the host must do with each event.
package engine
