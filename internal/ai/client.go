package ai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// Message is one chat message sent to a model.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Request is one chat completion.
type Request struct {
	Messages []Message
	// Schema, when set, asks for JSON conforming to it (in the provider's
	// JSON mode); SchemaName names it (a-z, 0-9, _ and -).
	Schema     json.RawMessage
	SchemaName string
	// Stream receives the answer as it comes; OnDelta is told the number
	// of characters received so far.
	Stream  bool
	OnDelta func(chars int)
}

// Completion is a model's answer.
type Completion struct {
	Content      string
	FinishReason string
	PromptTokens int
	OutputTokens int
}

// client builds the maintained OpenAI client for a provider.
func (s *Service) client(p store.AIProvider, hc *http.Client) (*openai.Client, error) {
	key := ""
	if p.APIKeySealed != "" {
		if s.d.Box == nil {
			return nil, domain.Errorf(domain.CodeUnavailable, "this server has no secret key to open the provider's API key with")
		}
		k, err := s.d.Box.Open(p.APIKeySealed)
		if err != nil {
			return nil, fmt.Errorf("opening the API key of AI provider %q: %w", p.Name, err)
		}
		key = k
	}
	cfg := openai.DefaultConfig(key)
	cfg.BaseURL = strings.TrimRight(p.BaseURL, "/")
	if hc == nil {
		hc = &http.Client{}
	}
	cfg.HTTPClient = hc
	return openai.NewClientWithConfig(cfg), nil
}

// Complete sends one chat completion to the provider and returns the
// answer. Provider failures come back as domain errors saying what the
// provider said: rate limits as CodeRateLimited, everything else
// (unreachable, 5xx, timeouts, truncated streams) as CodeUnavailable.
func (s *Service) Complete(ctx context.Context, p store.AIProvider, req Request) (Completion, error) {
	c, err := s.client(p, nil)
	if err != nil {
		return Completion{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout(p))
	defer cancel()
	msgs := make([]openai.ChatCompletionMessage, len(req.Messages))
	for i, m := range req.Messages {
		msgs[i] = openai.ChatCompletionMessage{Role: m.Role, Content: m.Content}
	}
	creq := openai.ChatCompletionRequest{Model: p.Model, Messages: msgs, MaxTokens: p.MaxTokens, Temperature: 0.2}
	if len(req.Schema) > 0 {
		if p.JSONMode == JSONObject {
			creq.ResponseFormat = &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatTypeJSONObject}
		} else {
			creq.ResponseFormat = &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
				JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{Name: req.SchemaName, Schema: rawSchema(req.Schema)}}
		}
	}
	if !req.Stream {
		res, err := c.CreateChatCompletion(ctx, creq)
		if err != nil {
			return Completion{}, providerError(ctx, p, err)
		}
		if len(res.Choices) == 0 {
			return Completion{}, domain.Errorf(domain.CodeUnavailable, "AI provider %q answered with no choices", p.Name)
		}
		ch := res.Choices[0]
		if ch.Message.Refusal != "" {
			return Completion{}, domain.Errorf(domain.CodeUnprocessable, "the model refused: %s", ch.Message.Refusal)
		}
		return Completion{Content: ch.Message.Content, FinishReason: string(ch.FinishReason),
			PromptTokens: res.Usage.PromptTokens, OutputTokens: res.Usage.CompletionTokens}, nil
	}
	creq.Stream = true
	creq.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	st, err := c.CreateChatCompletionStream(ctx, creq)
	if err != nil {
		return Completion{}, providerError(ctx, p, err)
	}
	defer st.Close()
	var out Completion
	var b strings.Builder
	for {
		chunk, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Completion{}, providerError(ctx, p, err)
		}
		if chunk.Usage != nil {
			out.PromptTokens, out.OutputTokens = chunk.Usage.PromptTokens, chunk.Usage.CompletionTokens
		}
		for _, ch := range chunk.Choices {
			b.WriteString(ch.Delta.Content)
			if ch.FinishReason != "" {
				out.FinishReason = string(ch.FinishReason)
			}
		}
		if req.OnDelta != nil {
			req.OnDelta(b.Len())
		}
	}
	out.Content = b.String()
	if out.FinishReason == "" {
		// The stream ended without a finish reason: the connection was cut.
		return out, domain.Errorf(domain.CodeUnavailable, "AI provider %q ended its stream before the answer was finished (%d characters received)", p.Name, b.Len())
	}
	return out, nil
}

type rawSchema json.RawMessage

// MarshalJSON implements json.Marshaler.
func (r rawSchema) MarshalJSON() ([]byte, error) { return r, nil }

// providerError says what went wrong talking to a provider.
func providerError(ctx context.Context, p store.AIProvider, err error) error {
	if ctx.Err() != nil {
		return domain.Errorf(domain.CodeUnavailable, "AI provider %q did not answer within %ds (its timeout): %w", p.Name, p.TimeoutSeconds, err)
	}
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	status, msg := 0, err.Error()
	switch {
	case errors.As(err, &apiErr):
		status, msg = apiErr.HTTPStatusCode, apiErr.Message
	case errors.As(err, &reqErr):
		status = reqErr.HTTPStatusCode
		if len(reqErr.Body) > 0 {
			msg = strings.TrimSpace(string(reqErr.Body))
			if len(msg) > 300 {
				msg = msg[:300] + "…"
			}
		}
	}
	switch {
	case status == http.StatusTooManyRequests:
		return &domain.Error{Code: domain.CodeRateLimited, Message: fmt.Sprintf("AI provider %q is rate limiting (HTTP 429): %s", p.Name, msg), Err: err}
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return &domain.Error{Code: domain.CodeUnavailable, Message: fmt.Sprintf("AI provider %q refused the API key (HTTP %d): %s", p.Name, status, msg), Err: err}
	case status == http.StatusNotFound:
		return &domain.Error{Code: domain.CodeUnavailable, Message: fmt.Sprintf("AI provider %q has no model %q or no chat completions at %s (HTTP 404): %s", p.Name, p.Model, p.BaseURL, msg), Err: err}
	case status != 0:
		return &domain.Error{Code: domain.CodeUnavailable, Message: fmt.Sprintf("AI provider %q failed (HTTP %d): %s", p.Name, status, msg), Err: err}
	}
	return &domain.Error{Code: domain.CodeUnavailable, Message: fmt.Sprintf("AI provider %q could not be reached at %s: %s", p.Name, p.BaseURL, msg), Err: err}
}
