package waform

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
)

// chatSide is the chat-flow side of the endpoint in tests: it answers by
// flow token like the runner does (a known token moves to a screen with
// data, a finished one is dead).
type chatSide struct {
	mu       sync.Mutex
	got      []Request
	notified []Request
	fail     error
}

func (c *chatSide) Exchange(_ context.Context, flowID string, req Request) (Response, error) {
	c.mu.Lock()
	c.got = append(c.got, req)
	c.mu.Unlock()
	if c.fail != nil {
		return Response{}, c.fail
	}
	switch req.FlowToken {
	case "done":
		return Response{}, &TokenError{Message: "The order has already been placed"}
	case "finish":
		return Response{Screen: "SUCCESS", Data: map[string]any{"extension_message_response": map[string]any{"params": map[string]any{"flow_token": req.FlowToken, "flow": flowID}}}}, nil
	}
	return Response{Screen: "SLOTS", Data: map[string]any{"action": req.Action, "echo": req.Data}}, nil
}

func (c *chatSide) Notify(_ context.Context, _ string, req Request) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notified = append(c.notified, req)
	return nil
}

type staticKeys map[string]Keys

func (s staticKeys) EndpointKeys(_ context.Context, flowID string) (Keys, error) {
	k, ok := s[flowID]
	if !ok {
		return Keys{}, ErrUnknownFlow
	}
	return k, nil
}

const appSecret = "app-secret"

var (
	testKeyOnce sync.Once
	testKey     *rsa.PrivateKey
)

func endpointKey(t testing.TB) *rsa.PrivateKey {
	testKeyOnce.Do(func() {
		kp, err := GenerateKeyPair()
		if err != nil {
			panic(err)
		}
		testKey, err = ParsePrivateKey(kp.PrivatePEM, "")
		if err != nil {
			panic(err)
		}
	})
	return testKey
}

func newEndpoint(t testing.TB) (*Endpoint, *chatSide) {
	cs := &chatSide{}
	return &Endpoint{Keys: staticKeys{"wf1": {PrivateKey: endpointKey(t), AppSecrets: []string{"old-secret", appSecret}}}, Router: cs, Log: slog.New(slog.DiscardHandler)}, cs
}

func jwtHS256(t testing.TB, secret string, claims map[string]any) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	b, _ := json.Marshal(claims)
	p := base64.RawURLEncoding.EncodeToString(b)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(h + "." + p))
	return h + "." + p + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestEndpoint(t *testing.T) {
	t.Parallel()
	key := endpointKey(t)
	cases := []struct {
		name       string
		flowID     string
		plain      string
		sign       func([]byte) string
		mangle     func([]byte) []byte
		fail       error
		wantStatus int
		wantJSON   string // decrypted answer (200) or plain body
		routed     bool
		notified   bool
	}{
		{name: "ping", plain: `{"version":"3.0","action":"ping"}`, wantStatus: 200, wantJSON: `{"data":{"status":"active"}}`},
		{name: "INIT routed", plain: `{"version":"3.0","action":"INIT","flow_token":"t1"}`, wantStatus: 200,
			wantJSON: `{"screen":"SLOTS","data":{"action":"INIT","echo":null}}`, routed: true},
		{name: "data_exchange routed", plain: `{"version":"3.0","action":"data_exchange","screen":"A","data":{"n":2},"flow_token":"t1"}`, wantStatus: 200,
			wantJSON: `{"screen":"SLOTS","data":{"action":"data_exchange","echo":{"n":2}}}`, routed: true},
		{name: "BACK routed", plain: `{"version":"3.0","action":"BACK","screen":"B","flow_token":"t1"}`, wantStatus: 200,
			wantJSON: `{"screen":"SLOTS","data":{"action":"BACK","echo":null}}`, routed: true},
		{name: "finish", plain: `{"version":"3.0","action":"data_exchange","screen":"B","data":{},"flow_token":"finish"}`, wantStatus: 200,
			wantJSON: `{"screen":"SUCCESS","data":{"extension_message_response":{"params":{"flow":"wf1","flow_token":"finish"}}}}`, routed: true},
		{name: "error notification acknowledged", plain: `{"version":"3.0","action":"data_exchange","screen":"A","flow_token":"t1","data":{"error":"payload-schema-error","error_message":"bad"}}`,
			wantStatus: 200, wantJSON: `{"data":{"acknowledged":true}}`, notified: true},
		{name: "dead token", plain: `{"version":"3.0","action":"INIT","flow_token":"done"}`, wantStatus: 427,
			wantJSON: `{"error_msg":"The order has already been placed"}`, routed: true},
		{name: "router failure", plain: `{"version":"3.0","action":"INIT","flow_token":"t1"}`, fail: errors.New("db down"), wantStatus: 500, routed: true},
		{name: "bad signature", plain: `{"version":"3.0","action":"ping"}`, sign: func(b []byte) string { return Sign(b, "wrong") }, wantStatus: 432},
		{name: "no signature", plain: `{"version":"3.0","action":"ping"}`, sign: func([]byte) string { return "" }, wantStatus: 432},
		{name: "tampered ciphertext", plain: `{"version":"3.0","action":"ping"}`, mangle: func(b []byte) []byte {
			var env EncryptedRequest
			_ = json.Unmarshal(b, &env)
			raw, _ := base64.StdEncoding.DecodeString(env.EncryptedFlowData)
			raw[0] ^= 1
			env.EncryptedFlowData = base64.StdEncoding.EncodeToString(raw)
			out, _ := json.Marshal(env)
			return out
		}, wantStatus: 421},
		{name: "not an envelope", plain: `{}`, mangle: func([]byte) []byte { return []byte(`{"encrypted_flow_data":"!!"}`) }, wantStatus: 421},
		{name: "unknown flow", flowID: "nope", plain: `{"version":"3.0","action":"ping"}`, wantStatus: 404},
		{name: "unknown action", plain: `{"version":"3.0","action":"DANCE","flow_token":"t"}`, wantStatus: 400},
		{name: "valid flow_token_signature", plain: `{"version":"4.0","action":"INIT","flow_token":"t1","flow_token_signature":"` + jwtHS256(t, appSecret, map[string]any{"flow_token": "t1"}) + `"}`,
			wantStatus: 200, wantJSON: `{"screen":"SLOTS","data":{"action":"INIT","echo":null}}`, routed: true},
		{name: "forged flow_token_signature", plain: `{"version":"4.0","action":"INIT","flow_token":"t1","flow_token_signature":"` + jwtHS256(t, "forged", map[string]any{"flow_token": "t1"}) + `"}`,
			wantStatus: 432},
		{name: "flow_token_signature for another token", plain: `{"version":"4.0","action":"INIT","flow_token":"t1","flow_token_signature":"` + jwtHS256(t, appSecret, map[string]any{"flow_token": "t2"}) + `"}`,
			wantStatus: 432},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ep, cs := newEndpoint(t)
			cs.fail = tc.fail
			body, aesKey, iv, err := EncryptRequest(&key.PublicKey, []byte(tc.plain))
			if err != nil {
				t.Fatal(err)
			}
			if tc.mangle != nil {
				body = tc.mangle(body)
			}
			sig := Sign(body, appSecret)
			if tc.sign != nil {
				sig = tc.sign(body)
			}
			flowID := tc.flowID
			if flowID == "" {
				flowID = "wf1"
			}
			rep := ep.Answer(context.Background(), flowID, sig, body)
			if rep.Status != tc.wantStatus {
				t.Fatalf("status %d (%s), want %d", rep.Status, rep.Body, tc.wantStatus)
			}
			if rep.Status == 200 {
				if rep.ContentType != "text/plain" {
					t.Fatalf("content type %q", rep.ContentType)
				}
				plain, err := DecryptResponse(string(rep.Body), aesKey, iv)
				if err != nil {
					t.Fatal(err)
				}
				assertJSON(t, plain, tc.wantJSON)
			} else if tc.wantJSON != "" {
				assertJSON(t, rep.Body, tc.wantJSON)
			}
			if (len(cs.got) > 0) != tc.routed {
				t.Fatalf("routed %v, want %v", len(cs.got) > 0, tc.routed)
			}
			if tc.routed && cs.got[0].FlowToken == "" {
				t.Fatal("the router did not get the flow token")
			}
			if (len(cs.notified) > 0) != tc.notified {
				t.Fatalf("notified %v, want %v", len(cs.notified) > 0, tc.notified)
			}
		})
	}
}

func assertJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("answer %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("answer %s, want %s", got, want)
	}
}

// TestEndpointRecordedRequest runs Meta's recorded request (pywa's vector)
// through the whole endpoint.
func TestEndpointRecordedRequest(t *testing.T) {
	t.Parallel()
	cv := loadVectors(t)
	priv, err := ParsePrivateKey(cv.Endpoint.PEM, "")
	if err != nil {
		t.Fatal(err)
	}
	cs := &chatSide{}
	ep := &Endpoint{Keys: staticKeys{"wf": {PrivateKey: priv, AppSecrets: []string{cv.Webhook.AppSecret}}}, Router: cs}
	body := []byte(cv.Endpoint.Request)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ep.Serve(w, r, "wf") }))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", Sign(body, cv.Webhook.AppSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), buf.String())
	}
	if len(cs.got) != 1 || cs.got[0].Action != "INIT" || cs.got[0].FlowToken != "my_flow_token" {
		t.Fatalf("routed %+v", cs.got)
	}
	_, key, iv, err := DecryptRequest(priv, body)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := DecryptResponse(buf.String(), key, iv)
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, plain, `{"screen":"SLOTS","data":{"action":"INIT","echo":{}}}`)

	// An oversized body is refused before any crypto.
	big := bytes.Repeat([]byte("a"), MaxRequestBytes+1)
	r2, _ := http.Post(srv.URL, "application/json", bytes.NewReader(big))
	if r2.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversize: %d", r2.StatusCode)
	}
	r2.Body.Close()
}

func TestKeys(t *testing.T) {
	t.Parallel()
	kp, err := GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ParsePrivateKey(kp.PrivatePEM, "")
	if err != nil {
		t.Fatal(err)
	}
	if priv.N.BitLen() != 2048 {
		t.Fatalf("%d bits", priv.N.BitLen())
	}
	pub, err := PublicPEM(priv)
	if err != nil || pub != kp.PublicPEM {
		t.Fatalf("public PEM differs: %v", err)
	}
	box := newBox(t)
	sealed, err := SealPrivateKey(box, kp.PrivatePEM)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains([]byte(sealed), []byte("PRIVATE KEY")) {
		t.Fatal("the sealed key is readable")
	}
	back, err := OpenPrivateKey(box, sealed)
	if err != nil || !back.Equal(priv) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := OpenPrivateKey(newBox(t), sealed); err == nil {
		t.Fatal("another master key opened the private key")
	}
	for _, bad := range []string{"", "not pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"} {
		if _, err := ParsePrivateKey(bad, ""); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestCheckResponse(t *testing.T) {
	t.Parallel()
	f, err := Parse([]byte(endpointFlow(`{"A":["B"],"B":[]}`, "A", "B")))
	if err != nil {
		t.Fatal(err)
	}
	f.Screens[1].Data = []DataField{{Name: "slots", Type: "array"}}
	ok := []struct {
		req  Request
		resp Response
	}{
		{Request{Action: "INIT"}, Response{Screen: "A", Data: map[string]any{}}},
		{Request{Action: "data_exchange", Screen: "A"}, Response{Screen: "B", Data: map[string]any{"slots": []any{}}}},
		{Request{Action: "data_exchange", Screen: "A"}, Response{Screen: "A", Data: map[string]any{"error_message": "Try again"}}},
		{Request{Action: "data_exchange", Screen: "B"}, Response{Screen: "SUCCESS", Data: map[string]any{"extension_message_response": map[string]any{"params": map[string]any{"flow_token": "t"}}}}},
	}
	for _, c := range ok {
		if err := CheckResponse(f, c.req, c.resp); err != nil {
			t.Errorf("%+v → %+v: %v", c.req, c.resp, err)
		}
	}
	bad := []struct {
		req  Request
		resp Response
	}{
		{Request{Action: "data_exchange", Screen: "B"}, Response{Screen: "A"}},
		{Request{Action: "data_exchange", Screen: "A"}, Response{Screen: "NOPE"}},
		{Request{Action: "data_exchange", Screen: "A"}, Response{Screen: "B", Data: map[string]any{"other": 1}}},
		{Request{Action: "data_exchange", Screen: "B"}, Response{Screen: "SUCCESS", Data: map[string]any{}}},
	}
	for _, c := range bad {
		if err := CheckResponse(f, c.req, c.resp); err == nil {
			t.Errorf("%+v → %+v accepted", c.req, c.resp)
		}
	}
}
