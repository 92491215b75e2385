package flow

import (
	"fmt"
	"strings"
)

// Severity of a lint problem: errors block publishing, warnings do not.
type Severity string

// Severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Lint codes. They are stable: clients match on them.
const (
	CodeTooManyNodes        = "too_many_nodes"
	CodeMissingID           = "missing_id"
	CodeDuplicateNodeID     = "duplicate_node_id"
	CodeDuplicateEdgeID     = "duplicate_edge_id"
	CodeUnknownNodeType     = "unknown_node_type"
	CodeUnknownField        = "unknown_field"
	CodeMissingField        = "missing_field"
	CodeWrongType           = "wrong_type"
	CodeInvalidValue        = "invalid_value"
	CodeDanglingEdge        = "dangling_edge"
	CodeUnknownExit         = "unknown_exit"
	CodeConflictingEdgeExit = "conflicting_edge_exit"
	CodeDuplicateExitEdge   = "duplicate_exit_edge"
	CodeUnconnectedExit     = "unconnected_exit"
	CodeUnconnectedOptional = "unconnected_optional_exit"
	CodeUnreachableNode     = "unreachable_node"
	CodeMissingStart        = "missing_start"
	CodeMultipleStarts      = "multiple_starts"
	CodeMissingEnd          = "missing_end"
	CodeNoPathToEnd         = "no_path_to_end"
	CodeLoopWithoutWait     = "loop_without_wait"
	CodeWaitWithoutTimeout  = "wait_without_timeout"
	CodeTooManyButtons      = "too_many_buttons"
	CodeButtonTitleTooLong  = "button_title_too_long"
	CodeDuplicateButton     = "duplicate_button"
	CodeTooManyListRows     = "too_many_list_rows"
	CodeListRowTitleTooLong = "list_row_title_too_long"
	CodeDuplicateListRow    = "duplicate_list_row"
	CodeButtonsAndList      = "buttons_and_list"
	CodeDuplicateExitName   = "duplicate_exit_name"
	CodeInvalidRegex        = "invalid_regex"
	CodeExpressionSyntax    = "expression_syntax"
	// CodeScriptSyntax: a code node's script does not parse (the message
	// gives the line and column in the script).
	CodeScriptSyntax          = "script_syntax"
	CodeCampaignNeedsTemplate = "campaign_needs_template"
	CodeUnknownTemplate       = "unknown_template"
	CodeUnknownSubflow        = "unknown_subflow"
	CodeUnknownWhatsAppFlow   = "unknown_whatsapp_flow"
	// CodeAINoProvider: an ai_agent node in a project without an AI
	// provider (a warning), or naming a provider the project lacks (an
	// error).
	CodeAINoProvider      = "ai_no_provider"
	CodeUndefinedVariable = "undefined_variable"
	CodeNotExecutable     = "node_not_executable"
	// CodeUnavailableChannelType: a trigger listens on a channel type this
	// build cannot connect (an error: the flow would never start there).
	CodeUnavailableChannelType = "unavailable_channel_type"
	// CodeSharedKeyword: another published flow has the same keyword (a
	// warning naming the flow that answers it).
	CodeSharedKeyword = "shared_keyword"
	// CodeReservedKeyword: a trigger keyword is one of the project's
	// opt-out or opt-in words, which are answered before any flow (a
	// warning: that keyword never starts the flow).
	CodeReservedKeyword = "reserved_keyword"
)

// Problem is one finding of the linter.
type Problem struct {
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	NodeID   string   `json:"node_id,omitempty"`
	EdgeID   string   `json:"edge_id,omitempty"`
	// Pointer is a JSON pointer into the flow_data document.
	Pointer string `json:"pointer"`
	// Message says what is wrong and how to fix it.
	Message string `json:"message"`
}

// String formats the problem for logs and CLI output.
func (p Problem) String() string {
	return fmt.Sprintf("%s %s at %s: %s", p.Severity, p.Code, p.Pointer, p.Message)
}

// Problems is a list of lint problems.
type Problems []Problem

// Errors returns the problems of severity error.
func (ps Problems) Errors() Problems {
	var out Problems
	for _, p := range ps {
		if p.Severity == SeverityError {
			out = append(out, p)
		}
	}
	return out
}

// HasErrors reports whether any problem blocks publishing.
func (ps Problems) HasErrors() bool {
	for _, p := range ps {
		if p.Severity == SeverityError {
			return true
		}
	}
	return false
}

// LintError is returned by Compile for a graph with lint errors; it carries
// all of them.
type LintError struct {
	Problems Problems
}

// Error implements error.
func (e *LintError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "flow has %d error(s)", len(e.Problems))
	for i, p := range e.Problems {
		if i == 3 {
			b.WriteString("; …")
			break
		}
		b.WriteString("; ")
		b.WriteString(p.String())
	}
	return b.String()
}
