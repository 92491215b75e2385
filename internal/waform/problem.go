package waform

// Severity tells whether a problem blocks publishing.
type Severity string

// Severities of a Problem.
const (
	// SeverityError is a problem Meta would reject the Flow JSON for.
	SeverityError Severity = "error"
	// SeverityWarning is advice; Meta would accept the document.
	SeverityWarning Severity = "warning"
)

// Problem is one finding of the validator. Code uses the names Meta returns
// in validation_errors (INVALID_PROPERTY_VALUE, INVALID_ROUTING_MODEL, …) so
// an author sees the same words here and in WhatsApp Manager.
type Problem struct {
	Code     string   `json:"code"`
	Message  string   `json:"message"`
	Pointer  string   `json:"pointer"` // JSON pointer (RFC 6901) into the submitted document
	Line     int      `json:"line"`    // 1-based line of the offending value in the submitted text
	Column   int      `json:"column"`  // 1-based column (characters) on that line
	Severity Severity `json:"severity"`
}

// Result is what Validate found.
type Result struct {
	Version  string    `json:"version"` // the declared Flow JSON version ("" when absent)
	Problems []Problem `json:"problems"`
}

// Valid reports whether the document has no error (warnings allowed).
func (r Result) Valid() bool { return len(r.Errors()) == 0 }

// Errors returns the problems of severity error.
func (r Result) Errors() []Problem {
	var out []Problem
	for _, p := range r.Problems {
		if p.Severity == SeverityError {
			out = append(out, p)
		}
	}
	return out
}

// Error codes, named as Meta names them (spec §1.8).
const (
	CodeInvalidFlowJSON                = "INVALID_FLOW_JSON"
	CodeMissingFlowJSONVersion         = "MISSING_FLOW_JSON_VERSION"
	CodeInvalidFlowJSONVersion         = "INVALID_FLOW_JSON_VERSION"
	CodeUnsupportedFlowJSONVersion     = "UNSUPPORTED_FLOW_JSON_VERSION"
	CodeNoSupportedDataAPIVersion      = "NO_SUPPORTED_DATA_API_VERSION"
	CodeInvalidPropertyKey             = "INVALID_PROPERTY_KEY"
	CodeInvalidPropertyValue           = "INVALID_PROPERTY_VALUE"
	CodeInvalidPropertyType            = "INVALID_PROPERTY_TYPE"
	CodeInvalidPropertyValueFormat     = "INVALID_PROPERTY_VALUE_FORMAT"
	CodeMinItemsRequired               = "MIN_ITEMS_REQUIRED"
	CodeMinCharsRequired               = "MIN_CHARS_REQUIRED"
	CodeMissingRequiredTypeProperty    = "MISSING_REQUIRED_TYPE_PROPERTY"
	CodeMissingRequiredProperty        = "MISSING_REQUIRED_PROPERTY"
	CodePatternMismatch                = "PATTERN_MISMATCH"
	CodeInvalidEnumValue               = "INVALID_ENUM_VALUE"
	CodeInvalidDependencies            = "INVALID_DEPENDENCIES"
	CodeKeywordOneOf                   = "KEYWORD_ONE_OF"
	CodeInvalidRoutingModel            = "INVALID_ROUTING_MODEL"
	CodeInvalidOnClickActionPayload    = "INVALID_ON_CLICK_ACTION_PAYLOAD"
	CodeInvalidCompleteAction          = "INVALID_COMPLETE_ACTION"
	CodeInvalidNavigateActionPayload   = "INVALID_NAVIGATE_ACTION_PAYLOAD"
	CodeInvalidNavigateNextScreenName  = "INVALID_NAVIGATE_ACTION_NEXT_SCREEN_NAME"
	CodeInvalidScreenDynamicData       = "INVALID_SCREEN_DYNAMIC_DATA"
	CodeInvalidScreenData              = "INVALID_SCREEN_DATA"
	CodeMaxScreensNumber               = "MAX_SCREENS_NUMBER"
	CodeMaxEmbeddedLinkPerScreen       = "MAX_EMBEDDED_LINK_PER_SCREEN"
	CodeMaxFooterPerScreen             = "MAX_FOOTER_PER_SCREEN"
	CodeMaxImagePerScreen              = "MAX_IMAGE_PER_SCREEN"
	CodeMaxOptInPerScreen              = "MAX_OPT_IN_PER_SCREEN"
	CodeMaxNavigationListPerScreen     = "MAX_NAVIGATION_LIST_PER_SCREEN"
	CodeMaxImageCarouselPerScreen      = "MAX_IMAGE_CAROUSEL_PER_SCREEN"
	CodeMaxMediaPickerPerScreen        = "MAX_MEDIA_PICKER_PER_SCREEN"
	CodeMinValueGreaterThanMax         = "MIN_VALUE_GREATER_THAN_MAX"
	CodeMinimumValueRequired           = "MINIMUM_VALUE_REQUIRED"
	CodeMaximumValueRequired           = "MAXIMUM_VALUE_REQUIRED"
	CodeDuplicateFormComponentNames    = "DUPLICATE_FORM_COMPONENT_NAMES"
	CodeDuplicateScreenIDs             = "DUPLICATE_SCREEN_IDS"
	CodeScreenIDIsReservedKeyword      = "SCREEN_ID_IS_RESERVED_KEYWORD"
	CodeMissingFooterOnTerminalScreen  = "MISSING_FOOTER_ON_TERMINAL_SCREEN"
	CodeMissingTerminalScreen          = "MISSING_TERMINAL_SCREEN"
	CodeComponentsOutsideForm          = "COMPONENTS_OUTSIDE_FORM"
	CodeMissingFooterInIfElseBranches  = "MISSING_FOOTER_IN_IF_ELSE_BRANCHES"
	CodeMissingFooterInSwitchBranches  = "MISSING_FOOTER_IN_SWITCH_BRANCHES"
	CodeNativeComponentInFormInitValue = "NATIVE_COMPONENT_IN_FORM_INIT_VALUES"
	CodeInvalidActionPayloadProperty   = "INVALID_ACTION_PAYLOAD_PROPERTY"
)
