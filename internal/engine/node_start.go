package engine

// startExec runs start nodes: the trigger was checked before the session
// started, so the node just continues.
var startExec = executor{enter: next}
