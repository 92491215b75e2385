// Package script runs code nodes' JavaScript in-process on goja, a pure-Go
// ECMAScript engine, under hard limits: a time limit (goja's Interrupt), a
// call-stack depth, size checks on the builtins that can build a huge string
// or array in one call, a heap-growth watchdog, and no filesystem,
// environment, timers, require or network (goja's core has none of them and
// nothing is added). Every call gets a fresh runtime, so nothing a script
// leaves behind (globals, patched prototypes) reaches another session or
// project. It implements engine.Scripts.
package script
