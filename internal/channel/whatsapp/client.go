package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/parleyhq/parley/internal/channel"
)

// maxResponseBytes bounds JSON answers from the Graph API; real ones are a
// few KB, template lists a few hundred.
const maxResponseBytes = 8 << 20

// Client calls the Graph API for one WhatsApp channel. Safe for concurrent
// use.
type Client struct {
	cfg  Config
	http *http.Client
}

// NewClient returns a client for cfg (defaults applied). A nil hc means a
// dedicated http.Client; timeouts come from cfg.Timeout per call.
func NewClient(cfg Config, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{cfg: cfg.WithDefaults(), http: hc}
}

// Config returns the client's configuration (with defaults).
func (c *Client) Config() Config { return c.cfg }

// endpoint builds {base}/{version}/{parts...}.
func (c *Client) endpoint(parts ...string) string {
	esc := make([]string, len(parts))
	for i, p := range parts {
		esc[i] = url.PathEscape(p)
	}
	return c.cfg.APIBaseURL + "/" + c.cfg.APIVersion + "/" + strings.Join(esc, "/")
}

// Send validates msg, posts it and returns the wamid. Errors are
// *channel.SendError.
func (c *Client) Send(ctx context.Context, msg channel.Outbound) (channel.SendResult, error) {
	if err := ValidateOutbound(&msg); err != nil {
		return channel.SendResult{}, &channel.SendError{Class: channel.Permanent, Cause: channel.CauseInvalidRequest,
			Title: "invalid message", Details: err.Error(), Err: err}
	}
	body, err := BuildBody(&msg)
	if err != nil {
		return channel.SendResult{}, &channel.SendError{Class: channel.Permanent, Cause: channel.CauseInvalidRequest, Err: err}
	}
	var resp struct {
		Success  bool `json:"success"`
		Contacts []struct {
			Input string  `json:"input"`
			WaID  flexStr `json:"wa_id"`
		} `json:"contacts"`
		Messages []struct {
			ID flexStr `json:"id"`
		} `json:"messages"`
	}
	if err := c.call(ctx, http.MethodPost, c.endpoint(c.cfg.PhoneNumberID, "messages"), "application/json",
		bytes.NewReader(body), &resp); err != nil {
		return channel.SendResult{}, err
	}
	if msg.Kind == channel.OutMarkRead {
		return channel.SendResult{}, nil
	}
	if len(resp.Messages) == 0 || resp.Messages[0].ID == "" {
		// Accepted but unreadable: retrying may duplicate, failing may lose;
		// a duplicate is the lesser harm (the design allows one).
		return channel.SendResult{}, &channel.SendError{Class: channel.Retryable, HTTPStatus: http.StatusOK,
			Title: "the Graph API answered without a message ID"}
	}
	res := channel.SendResult{ProviderID: string(resp.Messages[0].ID)}
	if len(resp.Contacts) > 0 {
		res.Address = string(resp.Contacts[0].WaID)
	}
	return res, nil
}

// MarkRead marks a received message as read, optionally with the typing
// indicator.
func (c *Client) MarkRead(ctx context.Context, messageID string, typing bool) error {
	_, err := c.Send(ctx, channel.Outbound{Kind: channel.OutMarkRead,
		MarkRead: &channel.MarkRead{MessageID: messageID, Typing: typing}})
	return err
}

// call performs one Graph API request with the bearer token and decodes a
// 2xx JSON answer into out (nil to discard). Failures are classified
// *channel.SendError whatever the endpoint, so every caller retries alike.
func (c *Client) call(ctx context.Context, method, u, contentType string, body io.Reader, out any) error {
	resp, err := c.do(ctx, method, u, contentType, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return &channel.SendError{Class: channel.Retryable, HTTPStatus: resp.StatusCode,
			Title: "reading the Graph API response failed", Err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return classifyResponse(resp.StatusCode, resp.Header, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &channel.SendError{Class: channel.Retryable, HTTPStatus: resp.StatusCode,
			Title: "the Graph API answer is not the JSON expected", Err: err}
	}
	return nil
}

// do sends a request under the per-call timeout. The caller closes the
// body; the timeout's cancel runs when it does.
func (c *Client) do(ctx context.Context, method, u, contentType string, body io.Reader) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		cancel()
		return nil, &channel.SendError{Class: channel.Permanent, Cause: channel.CauseInvalidRequest,
			Title: "building the Graph API request failed", Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.AccessToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		cancel()
		return nil, transportError(ctx, err)
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// transportError classifies a failure to get any answer. All are
// retryable: the request may or may not have reached Meta, and the status
// webhook (carrying our ID) settles what happened if it did.
func transportError(ctx context.Context, err error) *channel.SendError {
	se := &channel.SendError{Class: channel.Retryable, Err: err}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		se.Title = "the Graph API did not answer in time"
	case errors.Is(err, context.Canceled):
		se.Title = "the call was cancelled"
	default:
		se.Title = "the Graph API could not be reached"
	}
	return se
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// errorf wraps err with what was being done, keeping a SendError's class
// visible to channel.ClassOf.
func errorf(err error, format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, err)...)
}
