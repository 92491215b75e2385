package engine

import (
	"context"
	"encoding/json"
	"time"

	"github.com/parleyhq/parley/internal/expr"
	"github.com/parleyhq/parley/internal/flow"
)

// Clock gives the time of a sprint. The engine reads it once per sprint so a
// whole sprint sees one instant; expressions' duration limits also use it
// as a stopwatch (a fake clock that stands still turns them off).
type Clock interface {
	Now() time.Time
}

// IDGen makes session IDs.
type IDGen interface {
	NewID() string
}

// Random is the source of split decisions: a uniform number in [0, 1).
// Inject a seeded generator to make splits reproducible; when Services has
// none, the engine derives the number from the session ID and step count,
// which is deterministic per session.
type Random interface {
	Float64() float64
}

// HTTPRequest is an http_request node's call, fully rendered by the engine.
type HTTPRequest struct {
	Method  string
	URL     string
	Headers []HTTPHeader
	Body    string
	// Timeout is the node's timeout (10 s by default); the doer applies it
	// together with its own limits.
	Timeout time.Duration
}

// HTTPHeader is one rendered request header.
type HTTPHeader struct {
	Name, Value string
}

// HTTPResponse is what an HTTPDoer returns for a completed exchange, whatever
// its status code.
type HTTPResponse struct {
	Status      int
	ContentType string
	Body        []byte
}

// HTTPDoer performs http_request calls. Transport failures, blocked
// addresses, timeouts and oversized bodies are errors; the engine then takes
// the node's failure exit. internal/httpclient is the production doer.
type HTTPDoer interface {
	Do(ctx context.Context, req HTTPRequest) (HTTPResponse, error)
}

// LLMRequest is an ai_agent node's question, rendered by the engine. The
// contact's text is only ever in Prompt (and in the history the host
// adds), which the host sends as user-role messages; System and Schema
// come from the node's configuration alone.
type LLMRequest struct {
	// Scope is the root flow's Scope (Parley's project): the host picks
	// the scope's provider.
	Scope string
	// Provider names the scope's provider; its default when empty.
	Provider string
	// ContactID lets the host add the conversation so far (HistoryTurns
	// messages) from its message store.
	ContactID    string
	Model        string
	System       string
	Prompt       string
	Temperature  float64
	MaxTokens    int
	HistoryTurns int
	// Context is the variables the node shares with the model, as JSON
	// (bounded by the engine); the host sends it as data in a user-role
	// message.
	Context string
	// Schema, when set, is the JSON schema the answer must follow
	// (classify, extract); SchemaName names it.
	Schema     json.RawMessage
	SchemaName string
}

// LLMResponse is a model's answer and what it cost.
type LLMResponse struct {
	Text string
	// Model is the model that answered.
	Model            string
	PromptTokens     int
	CompletionTokens int
	// Latency is how long the call took, measured by the host.
	Latency time.Duration
}

// LLM answers ai_agent nodes. Timeouts, rate limits and provider failures
// are errors; the engine then takes the node's failed exit. When Services
// has none, ai_agent nodes take their failed exit. internal/ai is the
// production implementation.
type LLM interface {
	Complete(ctx context.Context, req LLMRequest) (LLMResponse, error)
}

// ScriptRequest is a code node's call: the compiled script and its inputs,
// copies the runner may not hand back to the engine by reference.
type ScriptRequest struct {
	Script *flow.Script
	// Scope is the root flow's Scope: the project whose database db.query
	// and db.insert reach.
	Scope string
	// Vars, Contact and Trigger are the script's three arguments.
	Vars    map[string]any
	Contact expr.Contact
	Trigger ScriptTrigger
	// Timeout is the node's time limit (500 ms by default); the runner
	// applies its own ceiling too.
	Timeout time.Duration
}

// ScriptTrigger is what the script sees as trigger: the last inbound
// message and the campaign row, if any.
type ScriptTrigger struct {
	Input expr.Input
	Row   map[string]any
	Flow  expr.Flow
}

// ScriptResult is what a script returned: variables to set and the exit
// chosen ("" takes the node's first exit).
type ScriptResult struct {
	Vars map[string]any
	Exit string
}

// Scripts runs code nodes. A script that throws, runs past its limits or
// returns something else than {variables, exit} is an error; the engine
// then takes the node's failed exit. internal/script is the production
// runner.
type Scripts interface {
	Run(ctx context.Context, req ScriptRequest) (ScriptResult, error)
}

// Flow is a compiled flow revision together with what the engine records
// about it.
type Flow struct {
	ID       string
	Name     string
	Revision int
	Program  *flow.Program
	// ExpireAfter is the flow's expire_after setting; 0 means the engine's
	// default (24 h). Only the root flow's value is used.
	ExpireAfter time.Duration
	// Scope is the host's namespace of the flow (Parley's project): the
	// root flow's is handed to Flows.Load, since a subflow only ever comes
	// from the scope of the flow that calls it.
	Scope string
}

// Flows loads other flows for subflow nodes. Revision 0 asks for the flow's
// current published revision (when a subflow node is entered); a non-zero
// revision asks for that exact revision (when a session waiting inside a
// subflow resumes: version pinning). scope is the root flow's Scope. Hosts
// are expected to cache programs per revision.
type Flows interface {
	Load(ctx context.Context, scope, flowID string, revision int) (Flow, error)
}

// Forms reads a completed form's answers with the types the form's
// definition gives them (WhatsApp Flows: numbers, booleans, arrays, date
// strings), since providers send some of them as text. scope is the root
// flow's Scope, formID the whatsapp_flow node's form. When Services has
// none, the answers are kept as the provider sent them.
type Forms interface {
	FormAnswers(ctx context.Context, scope, formID string, answers map[string]any) map[string]any
}

// Services are the engine's only ways out. Clock and IDs are required; the
// others may be nil (http_request then fails, ai_agent fails, subflow
// fails, code fails, splits use the deterministic per-session source).
type Services struct {
	Clock  Clock
	IDs    IDGen
	Random Random
	HTTP   HTTPDoer
	LLM    LLM
	Flows  Flows
	Forms  Forms
	// Scripts runs code nodes; without it they take their failed exit.
	Scripts Scripts
	// Data runs data nodes; without it they take their failed exit.
	Data Data
}

// DataRequest is a data node's operation on the project's own database,
// its values rendered by the engine. The host binds every value; none is
// ever put into SQL text.
type DataRequest struct {
	// Scope is the root flow's Scope (the project whose database it is).
	Scope     string
	Table     string
	Operation string // flow.DataLookupOne, DataLookupMany, DataInsert, DataUpdate, DataUpsert, DataDelete
	Where     []DataCondition
	Values    []DataValue
	// Limit bounds lookup_many's rows.
	Limit int
	// Sort orders lookups: a column, "-column" for descending.
	Sort string
}

// DataCondition is one condition of a data node's where list.
type DataCondition struct {
	Column string
	Op     string // eq, ne, lt, le, gt, ge, contains, null, not_null
	Value  any
}

// DataValue is one column a data node writes.
type DataValue struct {
	Column string
	Value  any
}

// DataResult is what a data operation found or changed.
type DataResult struct {
	// Rows are the rows found (lookups) or written (insert, update,
	// upsert), as column → value.
	Rows []map[string]any
	// Affected counts rows written or deleted.
	Affected int64
}

// Data runs data nodes against the project's own database. When Services
// has none, data nodes take their failed exit. internal/projectdb is the
// production implementation.
type Data interface {
	Data(ctx context.Context, req DataRequest) (DataResult, error)
}
