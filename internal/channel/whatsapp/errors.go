package whatsapp

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/parleyhq/parley/internal/channel"
)

// Retry hints for throttling (Meta gives no Retry-After): the account-wide
// limit recovers within a second or so; the pair limit wants seconds
// (Meta: wait 4^attempt seconds, the send worker multiplies).
const (
	accountThrottleWait   = time.Second
	recipientThrottleWait = 6 * time.Second
	marketingCapWait      = 25 * time.Hour
)

// graphError is the Graph API error envelope.
type graphError struct {
	Error *struct {
		Message        string  `json:"message"`
		Type           string  `json:"type"`
		Code           flexInt `json:"code"`
		ErrorSubcode   flexInt `json:"error_subcode"`
		ErrorUserTitle string  `json:"error_user_title"`
		ErrorUserMsg   string  `json:"error_user_msg"`
		ErrorData      *struct {
			Details string `json:"details"`
		} `json:"error_data"`
		FbtraceID string `json:"fbtrace_id"`
	} `json:"error"`
}

// classifyResponse turns a non-2xx Graph API response into a SendError,
// branching on the Graph error code first and the HTTP status only when
// there is no readable code (a proxy's HTML page, an empty 502).
func classifyResponse(status int, header http.Header, body []byte) *channel.SendError {
	var ge graphError
	if json.Unmarshal(body, &ge) != nil || ge.Error == nil {
		se := classifyStatus(status)
		se.Title = http.StatusText(status)
		se.RetryAfter = max(se.RetryAfter, retryAfter(header))
		return se
	}
	e := ge.Error
	details := e.ErrorUserMsg
	if e.ErrorData != nil && e.ErrorData.Details != "" {
		details = e.ErrorData.Details
	}
	title := e.Message
	if title == "" {
		title = e.ErrorUserTitle
	}
	se := Classify(status, int(e.Code), int(e.ErrorSubcode), title, details)
	se.RetryAfter = max(se.RetryAfter, retryAfter(header))
	return se
}

// classifyStatus classifies by HTTP status alone.
func classifyStatus(status int) *channel.SendError {
	se := &channel.SendError{HTTPStatus: status}
	switch {
	case status == http.StatusTooManyRequests:
		se.Class, se.Scope, se.RetryAfter = channel.Throttled, channel.ScopeAccount, accountThrottleWait
	case status >= 500 || status == http.StatusRequestTimeout:
		se.Class = channel.Retryable
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		se.Class, se.Cause = channel.Permanent, channel.CauseAuth
	default:
		se.Class, se.Cause = channel.Permanent, channel.CauseInvalidRequest
	}
	return se
}

// Classify maps a Graph API or webhook error (status 0 for webhooks) to a
// SendError following spec §5.4. It is exported so that failed status
// webhooks are classified the same way as send responses.
func Classify(status, code, subcode int, title, details string) *channel.SendError {
	se := &channel.SendError{HTTPStatus: status, Code: code, Subcode: subcode, Title: title, Details: details}
	switch {
	// Throttling: slow down, then retry.
	case code == 4 || code == 17 || code == 32 || code == 613 || code == 80007 || code == 130429:
		se.Class, se.Scope, se.RetryAfter = channel.Throttled, channel.ScopeAccount, accountThrottleWait
	case code == 131056:
		se.Class, se.Scope, se.RetryAfter = channel.Throttled, channel.ScopeRecipient, recipientThrottleWait

	// Transient on Meta's side: retry with backoff, bounded.
	case code == 1 || code == 2 || code == 131000 || code == 131016 || code == 131057 || code == 133004:
		se.Class = channel.Retryable

	// Permanent, with what it means for the conversation or campaign.
	case code == 131047 || code == 470:
		se.Class, se.Cause = channel.Permanent, channel.CauseOutsideWindow
	case code == 131050:
		se.Class, se.Cause = channel.Permanent, channel.CauseOptedOut
	case code == 131049:
		se.Class, se.Cause, se.RetryAfter = channel.Permanent, channel.CauseMarketingCap, marketingCapWait
	case code == 131026 || code == 130472 || code == 130497 || code == 131021 || code == 131030 || code == 131062:
		se.Class, se.Cause = channel.Permanent, channel.CauseUndeliverable
	case code == 131048 || code == 131042 || code == 132015 || code == 132016 || code == 368 ||
		code == 131031 || code == 132068 || code == 132069:
		se.Class, se.Cause = channel.Permanent, channel.CausePauseCampaign
	case code == 0 || code == 190 || code == 3 || code == 10 || (code >= 200 && code <= 299) ||
		code == 131005 || code == 131037 || code == 131045 || code == 133010:
		se.Class, se.Cause = channel.Permanent, channel.CauseAuth
	case code == 132000 || code == 132001 || code == 132005 || code == 132007 || code == 132012 || code == 132018:
		se.Class, se.Cause = channel.Permanent, channel.CauseTemplate
	case code == 100 || code == 131008 || code == 131009 || code == 131051 || code == 131052 || code == 131053:
		se.Class, se.Cause = channel.Permanent, channel.CauseInvalidRequest

	// Unknown codes: trust the HTTP status.
	case status >= 500:
		se.Class = channel.Retryable
	case status == http.StatusTooManyRequests:
		se.Class, se.Scope, se.RetryAfter = channel.Throttled, channel.ScopeAccount, accountThrottleWait
	default:
		se.Class = channel.Permanent
	}
	// Code 0 with a 5xx is Meta failing, not our token.
	if code == 0 && status >= 500 {
		se.Class, se.Cause = channel.Retryable, channel.CauseNone
	}
	return se
}

// ClassifyProviderError classifies an error from a failed status webhook.
func ClassifyProviderError(pe channel.ProviderError) *channel.SendError {
	return Classify(0, pe.Code, 0, pe.Title, pe.Details)
}

func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 && n < 86400 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 && d < 24*time.Hour {
			return d
		}
	}
	return 0
}
