package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/store"
)

// TestIsolation walks the whole route table: for every route, a caller of
// project A reaching anything of project B gets 404 and none of B's data.
// Routes added later are covered automatically; a route with a path
// parameter this test has no project-B fixture for fails it.
func TestIsolation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a, b := h.tenant("Alpha Corp"), h.tenant("Bravo Secret Project")

	// A published chat flow of project B (revision 1), with node "start"
	// and edge "e1".
	bFlow := h.bearer(b.token).do(http.MethodPost, "/chat-flow/flows/", map[string]any{
		"name": "Bravo hidden flow", "is_active": true, "flow_data": json.RawMessage(validFlow),
	}).want(http.StatusCreated).json()
	bFlowID := bFlow["id"].(string)

	// A contact of project B in a (simulated) session, and a channel.
	bChannel := h.bearer(b.token).do(http.MethodPost, "/channels/", map[string]any{"type": "webchat", "name": "Bravo web"}).want(http.StatusCreated).json()
	bSim := h.bearer(b.token).do(http.MethodPost, "/simulator/sessions/", map[string]any{"flow_id": bFlowID}).want(http.StatusCreated).json()

	bTemplate, err := h.store.TemplateCreate(context.Background(), store.TemplateCreateParams{ID: "b-template-1", ProjectID: b.project.ID,
		Name: "bravo_secret_template", Language: "en_US", Category: "UTILITY", Status: "APPROVED", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}

	bDeadLetter, err := h.store.DeadLetterCreate(context.Background(), store.DeadLetter{ID: "b-dead-letter-1", ProjectID: b.project.ID,
		ChannelID: bChannel["id"].(string), ChannelType: "webchat", Body: []byte(`{"bravo":"secret body"}`), Reason: "bravo reason", ReceivedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}

	// One thing of each kind in project B, by path parameter name.
	fixtures := map[string]string{
		"project_id":  b.project.ID,
		"user_id":     b.user.ID,
		"token_id":    b.tokenID,
		"flow_id":     bFlowID,
		"node_id":     bFlowID + ":start",
		"edge_id":     bFlowID + ":e1",
		"revision":    "1",
		"contact_id":  bSim["contact_id"].(string),
		"session_id":  bSim["id"].(string),
		"channel_id":  bChannel["id"].(string),
		"template_id": bTemplate.ID,

		"dead_letter_id": bDeadLetter.ID,
	}
	secrets := []string{b.project.ID, b.project.Name, b.user.ID, b.user.Email, b.tokenID, bFlowID, "Bravo hidden flow",
		bSim["id"].(string), bSim["contact_id"].(string), bChannel["id"].(string), bTemplate.Name, bDeadLetter.ID, "bravo reason"}

	// A fresh login per route: one of the routes is /auth/logout.
	callers := func() map[string]*client {
		return map[string]*client{"token": h.bearer(a.token), "session": h.login(a.user.Email, a.pw)}
	}
	ownerB := h.bearer(b.token)
	param := regexp.MustCompile(`\{([a-z_]+)\}`)

	for _, r := range h.api.Routes() {
		if r.Access == httpapi.Public {
			continue
		}
		missing := ""
		path := param.ReplaceAllStringFunc(r.Path, func(m string) string {
			name := m[1 : len(m)-1]
			id, ok := fixtures[name]
			if !ok {
				missing = name
			}
			return id
		})
		if missing != "" {
			t.Errorf("%s %s: no project-B fixture for {%s}; add one to TestIsolation", r.Method, r.Path, missing)
			continue
		}
		for via, c := range callers() {
			res := c.do(r.Method, path, map[string]any{})
			if path != r.Path {
				// A route naming B's thing: not found, whatever the method or body.
				if res.status != http.StatusNotFound {
					t.Errorf("%s %s via %s: status %d, want 404; body %s", r.Method, path, via, res.status, res.body)
				}
			} else if r.Method == http.MethodGet && res.status == http.StatusOK {
				for _, s := range secrets {
					if strings.Contains(string(res.body), s) {
						t.Errorf("%s %s via %s leaks project B's %q: %s", r.Method, path, via, s, res.body)
					}
				}
			}
			if res.status >= 500 {
				t.Errorf("%s %s via %s: status %d: %s", r.Method, path, via, res.status, res.body)
			}
		}
		// Control: B's owner reaches the same read, so the 404 above came
		// from isolation and not from a broken route.
		if r.Method == http.MethodGet && path != r.Path {
			if res := ownerB.do(r.Method, path, nil); res.status != http.StatusOK {
				t.Errorf("control: %s %s as B's owner: status %d: %s", r.Method, path, res.status, res.body)
			}
		}
	}

	// Ways to name B's things in a body or query rather than the path.
	t.Run("flow in body or query", func(t *testing.T) {
		c := callers()["token"]
		for _, req := range []struct {
			method, path string
			body         any
		}{
			{http.MethodGet, "/chat-flow/nodes/?flow=" + bFlowID, nil},
			{http.MethodGet, "/chat-flow/edges/?flow=" + bFlowID, nil},
			{http.MethodGet, "/chat-flow/analytics/?flow=" + bFlowID, nil},
			{http.MethodPost, "/chat-flow/nodes/", map[string]any{"flow": bFlowID, "type": "end"}},
			{http.MethodPost, "/chat-flow/edges/", map[string]any{"flow": bFlowID, "source_node": bFlowID + ":start", "target_node": bFlowID + ":end"}},
		} {
			c.do(req.method, req.path, req.body).problem(http.StatusNotFound)
		}
		// A's own flow with B's node reference is A's flow: B's node is not in it.
		aFlow := c.do(http.MethodPost, "/chat-flow/flows/", map[string]any{"name": "Alpha flow"}).want(http.StatusCreated).json()
		c.do(http.MethodGet, "/chat-flow/nodes/"+aFlow["id"].(string)+":"+bFlowID+"/", nil).problem(http.StatusNotFound)
	})
	t.Run("switch project", func(t *testing.T) {
		callers()["session"].do(http.MethodPost, "/auth/project", map[string]string{"project_id": b.project.ID}).problem(http.StatusNotFound)
	})
	t.Run("project header", func(t *testing.T) {
		c := callers()["session"]
		req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/tokens/", nil)
		req.Header.Set("X-Parley-Project", b.project.ID)
		res, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Fatalf("X-Parley-Project of another project: status %d, want 404", res.StatusCode)
		}
	})
}
