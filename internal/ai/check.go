package ai

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/parleyhq/parley/internal/store"
)

// CheckItem is one verdict of a provider check.
type CheckItem struct {
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// CheckResult says what works with a provider.
type CheckResult struct {
	Reachable   CheckItem `json:"reachable"`
	ModelExists CheckItem `json:"model_exists"`
	JSONMode    CheckItem `json:"json_mode"`
	Streaming   CheckItem `json:"streaming"`
}

var checkSchema = json.RawMessage(`{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"],"additionalProperties":false}`)

// Check asks the provider for its models, one JSON answer in its JSON mode
// and one streamed answer, and says what worked.
func (s *Service) Check(ctx context.Context, r store.Ref) (CheckResult, error) {
	p, err := s.d.Store.AIProviderGet(ctx, r)
	if err != nil {
		return CheckResult{}, err
	}
	var out CheckResult
	c, err := s.client(p, nil)
	if err != nil {
		return out, err
	}
	lctx, cancel := context.WithTimeout(ctx, timeout(p))
	models, err := c.ListModels(lctx)
	if err != nil {
		out.Reachable = CheckItem{Detail: providerError(lctx, p, err).Error()}
		out.ModelExists = CheckItem{Detail: "unknown: the model list could not be read"}
	} else {
		out.Reachable = CheckItem{OK: true, Detail: fmt.Sprintf("%s answered with %d models", p.BaseURL, len(models.Models))}
		ids := make([]string, len(models.Models))
		for i, m := range models.Models {
			ids[i] = m.ID
		}
		if slices.Contains(ids, p.Model) {
			out.ModelExists = CheckItem{OK: true, Detail: fmt.Sprintf("model %q is served", p.Model)}
		} else {
			out.ModelExists = CheckItem{Detail: fmt.Sprintf("model %q is not among the %d served (e.g. ollama pull %s)", p.Model, len(ids), p.Model)}
		}
	}
	cancel()
	msgs := []Message{{Role: "system", Content: `Answer with the JSON object {"ok": true} and nothing else.`}, {Role: "user", Content: "Are you there?"}}
	res, err := s.Complete(ctx, p, Request{Messages: msgs, Schema: checkSchema, SchemaName: "parley_check"})
	var v struct {
		OK *bool `json:"ok"`
	}
	switch {
	case err != nil:
		out.JSONMode = CheckItem{Detail: err.Error()}
	case json.Unmarshal([]byte(res.Content), &v) != nil || v.OK == nil:
		out.JSONMode = CheckItem{Detail: fmt.Sprintf("asked with response_format %s, the model answered something else than the JSON asked for: %.200q", p.JSONMode, res.Content)}
	default:
		out.JSONMode = CheckItem{OK: true, Detail: fmt.Sprintf("the model answered JSON conforming to the schema (response_format %s)", p.JSONMode)}
	}
	res, err = s.Complete(ctx, p, Request{Messages: msgs, Stream: true})
	if err != nil {
		out.Streaming = CheckItem{Detail: err.Error()}
	} else {
		out.Streaming = CheckItem{OK: true, Detail: fmt.Sprintf("streamed %d characters, finish reason %s", len(res.Content), res.FinishReason)}
	}
	return out, nil
}
