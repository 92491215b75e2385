// Package expr evaluates the {{ … }} templates and the expressions of chat
// flows on top of expr-lang.
//
// Sources are parsed and compiled once (ParseTemplate, Compile) and evaluated
// many times against an *Env. Compilation rewrites every free identifier into
// a direct lookup on the Env (session variable, then dataset row column, then
// contact field for bare names), so evaluation never builds a map, never uses
// reflection for the common paths, and reuses one VM per Env.
//
// Evaluation is bounded: the number of AST nodes is limited at compile time,
// and at run time a memory budget and a step counter (one step per iteration
// of a predicate such as map or filter) turn a runaway expression into an
// error. Panics inside expr-lang or helper functions are recovered into
// errors, so a bad expression can never crash a session.
package expr
