package waform

import (
	"context"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Response is what the endpoint answers to INIT, BACK and data_exchange: the
// next screen and its data, or screen "SUCCESS" with
// data.extension_message_response.params to close the flow (spec §3.3).
type Response struct {
	Screen string         `json:"screen"`
	Data   map[string]any `json:"data"`
}

// Router answers a flow's endpoint requests; the chat-flow side implements
// it (the session that sent the flow, found by flow_token).
type Router interface {
	// Exchange answers an INIT, BACK or data_exchange request. Return a
	// *TokenError when the flow token is unknown or no longer valid.
	Exchange(ctx context.Context, flowID string, req Request) (Response, error)
	// Notify records an error notification: the client rejected the
	// endpoint's previous response (req.Data["error"], ["error_message"]).
	Notify(ctx context.Context, flowID string, req Request) error
}

// TokenError tells the endpoint that a flow token is dead: it answers 427
// and the client shows Message (when set) and disables the button.
type TokenError struct{ Message string }

func (e *TokenError) Error() string {
	if e.Message == "" {
		return "the flow token is no longer valid"
	}
	return "the flow token is no longer valid: " + e.Message
}

// Keys is the flow's endpoint configuration: the business private key and
// the Meta app secret(s) that sign requests (two during a rotation).
type Keys struct {
	PrivateKey *rsa.PrivateKey
	AppSecrets []string
	// Flow, when set, is the flow's parsed JSON: answers the client would
	// reject (a screen the routing model does not allow, data the screen
	// does not declare) are logged with the reason, since the client only
	// reports "invalid-screen-transition" or "payload-schema-error".
	Flow *Flow
}

// KeySource finds a flow's Keys. It returns an error wrapping ErrUnknownFlow
// when the flow does not exist or has no endpoint key.
type KeySource interface {
	EndpointKeys(ctx context.Context, flowID string) (Keys, error)
}

// ErrUnknownFlow: no such flow, or it has no endpoint key pair (404).
var ErrUnknownFlow = errors.New("no endpoint for this flow")

// Endpoint implements the data-exchange endpoint protocol (spec §3). It is
// transport-agnostic in Answer; Serve adapts it to net/http.
type Endpoint struct {
	Keys    KeySource
	Router  Router
	Log     *slog.Logger
	Timeout time.Duration // time the Router gets; default 8 s (Meta's client gives up at 10 s)
}

// Reply is an HTTP answer: status, content type and body.
type Reply struct {
	Status      int
	ContentType string
	Body        []byte
}

// HTTP statuses Meta's client understands (spec §3.3).
const (
	StatusDecryptFailed  = 421
	StatusTokenInvalid   = 427
	StatusSignatureError = 432
)

// MaxRequestBytes bounds the request body: Meta's data channel carries at
// most 1 MB, base64 and the envelope add about a third.
const MaxRequestBytes = 2 << 20

// Answer handles one request: signature (432), decryption (421), ping,
// error notifications, then the Router; the response is encrypted with the
// inverted IV and returned as base64 text.
func (e *Endpoint) Answer(ctx context.Context, flowID, signature string, body []byte) Reply {
	keys, err := e.Keys.EndpointKeys(ctx, flowID)
	if err != nil {
		if errors.Is(err, ErrUnknownFlow) {
			return textReply(http.StatusNotFound, "no endpoint for this flow")
		}
		e.log().ErrorContext(ctx, "whatsapp flow endpoint: loading keys", "flow", flowID, "err", err)
		return textReply(http.StatusInternalServerError, "internal error")
	}
	if !VerifySignature(body, signature, keys.AppSecrets...) {
		return textReply(StatusSignatureError, "request signature authentication failed")
	}
	req, aesKey, iv, err := DecryptRequest(keys.PrivateKey, body)
	if err != nil {
		e.log().WarnContext(ctx, "whatsapp flow endpoint: decrypting", "flow", flowID, "err", err)
		return textReply(StatusDecryptFailed, "the request cannot be decrypted")
	}
	if req.FlowTokenSignature != "" && !verifyTokenSignature(req.FlowTokenSignature, req.FlowToken, keys.AppSecrets) {
		return textReply(StatusSignatureError, "flow_token_signature does not match the flow token")
	}
	var out any
	switch {
	case req.Action == "ping":
		out = map[string]any{"data": map[string]any{"status": "active"}}
	case req.IsErrorNotification():
		if err := e.Router.Notify(ctx, flowID, req); err != nil {
			e.log().WarnContext(ctx, "whatsapp flow endpoint: recording an error notification", "flow", flowID, "err", err)
		}
		out = map[string]any{"data": map[string]any{"acknowledged": true}}
	case req.Action == "INIT" || req.Action == "BACK" || req.Action == "data_exchange":
		rctx, cancel := context.WithTimeout(ctx, e.timeout())
		resp, err := e.Router.Exchange(rctx, flowID, req)
		cancel()
		var te *TokenError
		switch {
		case errors.As(err, &te):
			b, _ := json.Marshal(map[string]string{"error_msg": te.Message})
			return Reply{Status: StatusTokenInvalid, ContentType: "application/json", Body: b}
		case err != nil:
			e.log().ErrorContext(ctx, "whatsapp flow endpoint: routing", "flow", flowID, "action", req.Action, "err", err)
			return textReply(http.StatusInternalServerError, "internal error")
		}
		if resp.Data == nil {
			resp.Data = map[string]any{}
		}
		if keys.Flow != nil {
			if err := CheckResponse(keys.Flow, req, resp); err != nil {
				e.log().WarnContext(ctx, "whatsapp flow endpoint: the client will reject this answer", "flow", flowID, "err", err)
			}
		}
		out = resp
	default:
		return textReply(http.StatusBadRequest, fmt.Sprintf("unknown action %q", req.Action))
	}
	plain, err := json.Marshal(out)
	if err != nil {
		e.log().ErrorContext(ctx, "whatsapp flow endpoint: encoding the response", "flow", flowID, "err", err)
		return textReply(http.StatusInternalServerError, "internal error")
	}
	enc, err := EncryptResponse(plain, aesKey, iv)
	if err != nil {
		return textReply(http.StatusInternalServerError, "internal error")
	}
	return Reply{Status: http.StatusOK, ContentType: "text/plain", Body: []byte(enc)}
}

// Serve answers r for flowID; httpapi routes POST /whatsapp-flows/{id}/endpoint here.
func (e *Endpoint) Serve(w http.ResponseWriter, r *http.Request, flowID string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBytes+1))
	var rep Reply
	switch {
	case err != nil:
		rep = textReply(http.StatusBadRequest, "reading the request body failed")
	case len(body) > MaxRequestBytes:
		rep = textReply(http.StatusRequestEntityTooLarge, "request body too large")
	default:
		rep = e.Answer(r.Context(), flowID, r.Header.Get("X-Hub-Signature-256"), body)
	}
	w.Header().Set("Content-Type", rep.ContentType)
	w.WriteHeader(rep.Status)
	_, _ = w.Write(rep.Body)
}

func (e *Endpoint) timeout() time.Duration {
	if e.Timeout > 0 {
		return e.Timeout
	}
	return 8 * time.Second
}

func (e *Endpoint) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.Default()
}

func textReply(status int, msg string) Reply {
	return Reply{Status: status, ContentType: "text/plain; charset=utf-8", Body: []byte(msg)}
}

// verifyTokenSignature checks a Data API 4.0 flow_token_signature: a JWT
// signed HS256 with the Meta app secret whose payload carries the token.
func verifyTokenSignature(jwt, token string, secrets []string) bool {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return false
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || json.Unmarshal(hb, &hdr) != nil || hdr.Alg != "HS256" {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	ok := false
	for _, s := range secrets {
		m := hmac.New(sha256.New, []byte(s))
		m.Write([]byte(parts[0] + "." + parts[1]))
		if hmac.Equal(m.Sum(nil), sig) {
			ok = true
		}
	}
	if !ok {
		return false
	}
	pb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var claims map[string]any
	if json.Unmarshal(pb, &claims) != nil {
		return false
	}
	t, _ := claims["flow_token"].(string)
	return t == token
}

// CheckResponse reports why the WhatsApp client would reject resp as the
// answer to req: a next screen the routing model does not allow from the
// request's screen, or data fields the screen does not declare. "SUCCESS"
// (closing the flow) needs extension_message_response.params.
func CheckResponse(f *Flow, req Request, resp Response) error {
	if resp.Screen == "SUCCESS" {
		emr, _ := resp.Data["extension_message_response"].(map[string]any)
		if _, ok := emr["params"].(map[string]any); !ok {
			return errors.New("screen SUCCESS needs data.extension_message_response.params")
		}
		return nil
	}
	to := f.Screen(resp.Screen)
	if to == nil {
		return fmt.Errorf("screen %q is not in the flow", resp.Screen)
	}
	if req.Screen != "" && req.Screen != resp.Screen && f.RoutingModel != nil && req.Action != "INIT" {
		allowed := false
		for _, n := range f.RoutingModel[req.Screen] {
			allowed = allowed || n == resp.Screen
		}
		if !allowed {
			return fmt.Errorf("the routing model does not allow %q → %q", req.Screen, resp.Screen)
		}
	}
	declared := map[string]bool{"error_message": true}
	for _, d := range to.Data {
		declared[d.Name] = true
	}
	for k := range resp.Data {
		if !declared[k] {
			return fmt.Errorf("data field %q is not declared on screen %q", k, resp.Screen)
		}
	}
	return nil
}
