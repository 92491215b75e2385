package app_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/parleyhq/parley/internal/ai/aitest"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/voice/audiotest"
	"github.com/parleyhq/parley/internal/voice/realtime/realtimetest"
)

// startVoiceServer starts a server whose sandbox Graph API serves the
// WhatsApp number phoneID and whose guarded HTTP client may reach loopback
// (the fake Twilio and the fake models run on httptest servers).
func startVoiceServer(t *testing.T, phoneID string) *running {
	t.Helper()
	s := apptest.Start(t, apptest.Options{Fake: sandbox.Config{AppSecret: "sandbox-secret", AccessToken: "sandbox-token", PhoneNumberID: phoneID},
		Configure: func(c *config.Config) { c.HTTPAllow = "127.0.0.1" }})
	return &running{Server: s, t: t, base: s.Base, fake: s.Fake}
}

// useRealtimeModel makes a fake OpenAI-compatible server the project's AI
// provider: the chat model answers with answer, the realtime model at
// /v1/realtime hears and speaks through book. It returns the realtime
// model, whose sessions the test reads.
func useRealtimeModel(t *testing.T, r *running, book *audiotest.Book, answer func(aitest.Request) aitest.Reply) *realtimetest.Server {
	t.Helper()
	llm := aitest.NewHandler("m")
	llm.Fallback(answer)
	rt := realtimetest.NewHandler(book)
	rt.APIKey = "sk-realtime"
	mux := http.NewServeMux()
	mux.Handle("/v1/realtime", rt)
	mux.Handle("/", llm)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { rt.Close(); srv.Close() })
	r.must("POST", "/ai/providers/", map[string]any{"name": "fake", "base_url": srv.URL + "/v1", "model": "m", "api_key": "sk-realtime"}, http.StatusCreated)
	return rt
}
