// Package flow is the chat-flow graph model: the ReactFlow document a flow is
// edited as (Graph), the registry of node types with their data schemas and
// exits, the linter that names every problem of a graph at once, the
// compiler that turns a lint-clean graph into the immutable Program the
// engine interprets, import/export of flow documents, and the built-in flow
// templates.
//
// The package is pure: no I/O besides what callers inject through LintEnv.
package flow
