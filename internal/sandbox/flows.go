package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/waform"
)

// The Flows management API (spec §2) as Meta answers it: flows of a WABA,
// their JSON asset validated with the same validator Parley uses, the
// lifecycle with Meta's error codes, FLOW_STATUS_CHANGE webhooks, and the
// number's encryption key.

// storedFlow is a flow the fake keeps.
type storedFlow struct {
	ID          string
	WABA        string
	Name        string
	Categories  []string
	Status      string
	JSON        []byte
	EndpointURI string
	Errors      []map[string]any
}

// SentForm is a flow message the fake accepted: what the customer's phone
// would open.
type SentForm struct {
	To     string
	FlowID string
	Token  string
	Mode   string
	CTA    string
	Body   string
	Screen string
	Data   map[string]any
	// JSON is the Flow JSON the customer gets (the draft in draft mode).
	JSON []byte
	At   time.Time
}

var flowCategories = []string{"SIGN_UP", "SIGN_IN", "APPOINTMENT_BOOKING", "LEAD_GENERATION", "CONTACT_US", "CUSTOMER_SUPPORT", "SURVEY", "OTHER"}

func (s *Server) flowRoutes() {
	s.mux.HandleFunc("POST /{version}/{waba}/flows", s.handleCreateFlow)
	s.mux.HandleFunc("GET /{version}/{waba}/flows", s.handleListFlows)
	s.mux.HandleFunc("POST /{version}/{id}/assets", s.handleFlowAssets)
	s.mux.HandleFunc("POST /{version}/{id}/publish", s.handleFlowPublish)
	s.mux.HandleFunc("POST /{version}/{id}/deprecate", s.handleFlowDeprecate)
	s.mux.HandleFunc("POST /{version}/{pnid}/whatsapp_business_encryption", s.handleUploadKey)
	s.mux.HandleFunc("GET /{version}/{pnid}/whatsapp_business_encryption", s.handleGetKey)
}

// flowByID returns the stored flow (nil when unknown); call with s.mu held.
func (s *Server) flowByID(id string) *storedFlow {
	for _, f := range s.flows {
		if f.ID == id {
			return f
		}
	}
	return nil
}

// FlowJSON is the Flow JSON last uploaded for a flow at the fake (false
// when the fake does not know the flow), for tests of what reached Meta.
func (s *Server) FlowJSON(id string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.flowByID(id)
	if f == nil {
		return nil, false
	}
	return append([]byte(nil), f.JSON...), true
}

func flowNotFound(w http.ResponseWriter, id string) {
	graphError(w, http.StatusBadRequest, 100, 33, fmt.Sprintf("Unsupported request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", id), "")
}

func (s *Server) handleCreateFlow(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	if f, ok := s.takeFault("flows"); ok && s.applyFault(w, r, f) {
		return
	}
	var in struct {
		Name        string   `json:"name"`
		Categories  []string `json:"categories"`
		FlowJSON    string   `json:"flow_json"`
		EndpointURI string   `json:"endpoint_uri"`
		Publish     bool     `json:"publish"`
		Clone       string   `json:"clone_flow_id"`
	}
	if err := decodeForm(r, &in); err != nil {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) Invalid parameter", err.Error())
		return
	}
	if strings.TrimSpace(in.Name) == "" {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) The parameter name is required.", "")
		return
	}
	if len(in.Categories) == 0 {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) The parameter categories is required.", "")
		return
	}
	for _, c := range in.Categories {
		if !slices.Contains(flowCategories, c) {
			graphError(w, http.StatusBadRequest, 100, 0, "(#100) Param categories["+c+"] must be one of {"+strings.Join(flowCategories, ", ")+"}", "")
			return
		}
	}
	waba := r.PathValue("waba")
	s.mu.Lock()
	for _, f := range s.flows {
		if f.WABA == waba && f.Name == in.Name {
			s.mu.Unlock()
			graphError(w, http.StatusBadRequest, 100, 4016019, "(#100) Invalid parameter", "Flow name is not unique")
			return
		}
	}
	s.seq++
	f := &storedFlow{ID: fmt.Sprintf("66%014d", s.seq), WABA: waba, Name: in.Name, Categories: in.Categories, Status: "DRAFT", EndpointURI: in.EndpointURI}
	if in.Clone != "" {
		src := s.flowByID(in.Clone)
		if src == nil {
			s.mu.Unlock()
			graphError(w, http.StatusBadRequest, 100, 0, "(#100) Invalid parameter", "clone_flow_id "+in.Clone+" does not exist")
			return
		}
		f.JSON, f.Errors = src.JSON, src.Errors
	}
	if in.FlowJSON != "" {
		f.JSON = []byte(in.FlowJSON)
		f.Errors = metaErrors(f.JSON)
	}
	if in.Publish {
		if f.JSON == nil || len(f.Errors) > 0 {
			s.mu.Unlock()
			graphError(w, http.StatusBadRequest, 139002, 0, "Publishing the flow failed", "publish needs a valid flow_json")
			return
		}
		f.Status = "PUBLISHED"
	}
	s.flows = append(s.flows, f)
	id, errs := f.ID, f.Errors
	s.mu.Unlock()
	out := map[string]any{"id": id, "success": true}
	if errs != nil {
		out["validation_errors"] = errs
	}
	writeJSON(w, http.StatusOK, out)
}

// decodeForm reads a JSON body, or a form-encoded one as the Graph API
// also accepts (categories as a JSON array).
func decodeForm(r *http.Request, into any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 11<<20))
	if err != nil {
		return err
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return err
		}
		m := map[string]any{}
		for k := range vals {
			v := vals.Get(k)
			var x any
			if json.Unmarshal([]byte(v), &x) == nil && (strings.HasPrefix(v, "[") || v == "true" || v == "false") {
				m[k] = x
			} else {
				m[k] = v
			}
		}
		body, _ = json.Marshal(m)
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("the body cannot be read: %w", err)
	}
	return nil
}

// metaErrors validates a Flow JSON document and answers like Meta's
// validation_errors (nil when valid).
func metaErrors(raw []byte) []map[string]any {
	var out []map[string]any
	for _, p := range waform.Validate(raw).Errors() {
		out = append(out, map[string]any{"error": p.Code, "error_type": "FLOW_JSON_ERROR", "message": p.Message,
			"line_start": p.Line, "line_end": p.Line, "column_start": p.Column, "column_end": p.Column,
			"pointers": []map[string]any{{"line_start": p.Line, "line_end": p.Line, "column_start": p.Column, "column_end": p.Column, "path": dottedPath(p.Pointer)}}})
	}
	return out
}

// dottedPath turns a JSON pointer into Meta's path ("/screens/0/id" →
// "screens[0].id").
func dottedPath(ptr string) string {
	var b strings.Builder
	for _, seg := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		if seg == "" {
			continue
		}
		seg = strings.NewReplacer("~1", "/", "~0", "~").Replace(seg)
		if _, err := strconv.Atoi(seg); err == nil {
			b.WriteString("[" + seg + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(seg)
	}
	return b.String()
}

// handleFlowAssets takes a Flow JSON upload (multipart: file, name,
// asset_type FLOW_JSON). Editing a published flow makes it a draft again.
func (s *Server) handleFlowAssets(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	if f, ok := s.takeFault("flows"); ok && s.applyFault(w, r, f) {
		return
	}
	if err := r.ParseMultipartForm(10 << 20); err != nil {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) Invalid parameter", "the upload must be multipart/form-data: "+err.Error())
		return
	}
	if r.FormValue("asset_type") != "FLOW_JSON" {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) Param asset_type must be one of {FLOW_JSON}", "")
		return
	}
	file, _, err := r.FormFile("file")
	if err != nil {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) The parameter file is required.", "")
		return
	}
	defer file.Close()
	raw, _ := io.ReadAll(io.LimitReader(file, 10<<20))
	id := r.PathValue("id")
	s.mu.Lock()
	f := s.flowByID(id)
	if f == nil {
		s.mu.Unlock()
		flowNotFound(w, id)
		return
	}
	if f.Status == "DEPRECATED" {
		s.mu.Unlock()
		graphError(w, http.StatusBadRequest, 139001, 0, "Flow can't be updated", "Deprecated flows cannot be edited; clone it.")
		return
	}
	was := f.Status
	f.JSON, f.Errors = raw, metaErrors(raw)
	if f.Status == "PUBLISHED" || f.Status == "THROTTLED" {
		f.Status = "DRAFT"
	}
	waba, name, errs, now := f.WABA, f.Name, f.Errors, f.Status
	s.mu.Unlock()
	if was != now {
		s.flowStatusWebhook(waba, id, name, was, now)
	}
	if errs == nil {
		errs = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "validation_errors": errs})
}

func (s *Server) handleFlowPublish(w http.ResponseWriter, r *http.Request) {
	s.moveFlow(w, r, "PUBLISHED")
}

func (s *Server) handleFlowDeprecate(w http.ResponseWriter, r *http.Request) {
	s.moveFlow(w, r, "DEPRECATED")
}

// moveFlow publishes or deprecates a flow with Meta's refusals, then sends
// the FLOW_STATUS_CHANGE webhook after answering.
func (s *Server) moveFlow(w http.ResponseWriter, r *http.Request, to string) {
	if !s.authorized(w, r) {
		return
	}
	if f, ok := s.takeFault("flows"); ok && s.applyFault(w, r, f) {
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	f := s.flowByID(id)
	if f == nil {
		s.mu.Unlock()
		flowNotFound(w, id)
		return
	}
	var refuse string
	code := 139002
	switch {
	case to == "PUBLISHED" && f.Status != "DRAFT":
		refuse = "Only draft flows can be published."
	case to == "PUBLISHED" && f.JSON == nil:
		refuse = "The flow has no Flow JSON."
	case to == "PUBLISHED" && len(f.Errors) > 0:
		refuse = "The flow has validation errors."
	case to == "DEPRECATED" && f.Status != "PUBLISHED" && f.Status != "THROTTLED" && f.Status != "BLOCKED":
		refuse, code = "Can't deprecate a flow that is not published.", 139003
	}
	if refuse != "" {
		s.mu.Unlock()
		graphError(w, http.StatusBadRequest, code, 0, "Publishing or deprecating the flow failed", refuse)
		return
	}
	was := f.Status
	f.Status = to
	waba, name := f.WABA, f.Name
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	go s.flowStatusWebhook(waba, id, name, was, to)
}

// flowStatusWebhook delivers Meta's FLOW_STATUS_CHANGE notice.
func (s *Server) flowStatusWebhook(waba, id, name, from, to string) {
	body, err := wrap(waba, "flows", map[string]any{"event": "FLOW_STATUS_CHANGE",
		"message": fmt.Sprintf("Flow %s changed status from %s to %s", name, from, to), "flow_id": id, "old_status": from, "new_status": to})
	if err == nil {
		s.deliver(body)
	}
}

// SetFlowStatus changes a flow's status as Meta's health monitoring does
// (THROTTLED, BLOCKED) and sends the webhook; false for an unknown flow.
func (s *Server) SetFlowStatus(id, status string) bool {
	s.mu.Lock()
	f := s.flowByID(id)
	if f == nil {
		s.mu.Unlock()
		return false
	}
	was := f.Status
	f.Status = status
	waba, name := f.WABA, f.Name
	s.mu.Unlock()
	s.flowStatusWebhook(waba, id, name, was, status)
	return true
}

// getFlow answers GET /{flow_id}; false when id is not a flow.
func (s *Server) getFlow(w http.ResponseWriter, r *http.Request, id string) bool {
	s.mu.Lock()
	f := s.flowByID(id)
	if f == nil {
		s.mu.Unlock()
		return false
	}
	errs := f.Errors
	if errs == nil {
		errs = []map[string]any{}
	}
	out := map[string]any{"id": f.ID, "name": f.Name, "status": f.Status, "categories": f.Categories, "validation_errors": errs,
		"json_version": waformVersion(f.JSON), "whatsapp_business_account": map[string]string{"id": f.WABA}}
	if f.EndpointURI != "" {
		out["endpoint_uri"] = f.EndpointURI
	}
	s.mu.Unlock()
	if strings.Contains(r.URL.Query().Get("fields"), "preview") {
		out["preview"] = map[string]any{"preview_url": "http://" + r.Host + "/flows/preview/" + id,
			"expires_at": time.Now().Add(30 * 24 * time.Hour).UTC().Format("2006-01-02T15:04:05-0700")}
	}
	writeJSON(w, http.StatusOK, out)
	return true
}

func waformVersion(raw []byte) string {
	var v struct {
		Version string `json:"version"`
	}
	_ = json.Unmarshal(raw, &v)
	return v.Version
}

// updateFlow answers POST /{flow_id} (metadata); false when id is not a
// flow.
func (s *Server) updateFlow(w http.ResponseWriter, r *http.Request, id string) bool {
	s.mu.Lock()
	known := s.flowByID(id) != nil
	s.mu.Unlock()
	if !known {
		return false
	}
	var in struct {
		Name        string   `json:"name"`
		Categories  []string `json:"categories"`
		EndpointURI string   `json:"endpoint_uri"`
	}
	if err := decodeForm(r, &in); err != nil {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) Invalid parameter", err.Error())
		return true
	}
	s.mu.Lock()
	f := s.flowByID(id)
	switch {
	case f == nil:
		s.mu.Unlock()
		flowNotFound(w, id)
		return true
	case f.Status == "DEPRECATED":
		s.mu.Unlock()
		graphError(w, http.StatusBadRequest, 139001, 0, "Flow can't be updated", "Deprecated flows cannot be edited; clone it.")
		return true
	}
	for _, o := range s.flows {
		if o != f && o.WABA == f.WABA && in.Name != "" && o.Name == in.Name {
			s.mu.Unlock()
			graphError(w, http.StatusBadRequest, 100, 4016019, "(#100) Invalid parameter", "Flow name is not unique")
			return true
		}
	}
	if in.Name != "" {
		f.Name = in.Name
	}
	if in.Categories != nil {
		f.Categories = in.Categories
	}
	f.EndpointURI = in.EndpointURI
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	return true
}

// deleteFlow answers DELETE /{flow_id}; false when id is not a flow.
func (s *Server) deleteFlow(w http.ResponseWriter, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.flows, func(f *storedFlow) bool { return f.ID == id })
	if i < 0 {
		return false
	}
	if s.flows[i].Status != "DRAFT" {
		graphError(w, http.StatusBadRequest, 139004, 0, "Can't delete published flow", "Only draft flows can be deleted; deprecate it instead.")
		return true
	}
	s.flows = slices.Delete(s.flows, i, i+1)
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	return true
}

func (s *Server) handleListFlows(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	waba := r.PathValue("waba")
	s.mu.Lock()
	data := []map[string]any{}
	for _, f := range s.flows {
		if f.WABA == waba {
			errs := f.Errors
			if errs == nil {
				errs = []map[string]any{}
			}
			data = append(data, map[string]any{"id": f.ID, "name": f.Name, "status": f.Status, "categories": f.Categories, "validation_errors": errs})
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "paging": map[string]any{"cursors": map[string]string{"before": "", "after": ""}}})
}

func (s *Server) handleUploadKey(w http.ResponseWriter, r *http.Request) {
	pnid := r.PathValue("pnid")
	if !s.authorized(w, r) || !s.knownNumber(w, pnid) {
		return
	}
	if err := r.ParseForm(); err != nil {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) Invalid parameter", err.Error())
		return
	}
	key := r.PostFormValue("business_public_key")
	if !strings.Contains(key, "BEGIN PUBLIC KEY") {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) Invalid parameter", "business_public_key must be a PEM public key")
		return
	}
	s.mu.Lock()
	s.publicKeys[pnid] = key
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

func (s *Server) handleGetKey(w http.ResponseWriter, r *http.Request) {
	pnid := r.PathValue("pnid")
	if !s.authorized(w, r) || !s.knownNumber(w, pnid) {
		return
	}
	s.mu.Lock()
	key := s.publicKeys[pnid]
	s.mu.Unlock()
	data := []map[string]string{}
	if key != "" {
		data = append(data, map[string]string{"business_public_key": key, "business_public_key_signature_status": "VALID"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
}

// PublicKey is the encryption key uploaded for a number ("" when none).
func (s *Server) PublicKey(pnid string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publicKeys[pnid]
}

// recordForm keeps a flow message the fake accepted, for the customer side.
func (s *Server) recordForm(to string, body []byte) {
	var m struct {
		Interactive struct {
			Type string `json:"type"`
			Body struct {
				Text string `json:"text"`
			} `json:"body"`
			Action struct {
				Parameters struct {
					FlowID  string `json:"flow_id"`
					Token   string `json:"flow_token"`
					CTA     string `json:"flow_cta"`
					Mode    string `json:"mode"`
					Payload *struct {
						Screen string         `json:"screen"`
						Data   map[string]any `json:"data"`
					} `json:"flow_action_payload"`
				} `json:"parameters"`
			} `json:"action"`
		} `json:"interactive"`
	}
	if json.Unmarshal(body, &m) != nil || m.Interactive.Type != "flow" {
		return
	}
	p := m.Interactive.Action.Parameters
	sf := SentForm{To: strings.TrimPrefix(to, "+"), FlowID: p.FlowID, Token: p.Token, Mode: p.Mode, CTA: p.CTA, Body: m.Interactive.Body.Text, At: time.Now()}
	if p.Payload != nil {
		sf.Screen, sf.Data = p.Payload.Screen, p.Payload.Data
	}
	s.mu.Lock()
	if f := s.flowByID(p.FlowID); f != nil {
		sf.JSON = f.JSON
	}
	s.forms = append(s.forms, sf)
	s.mu.Unlock()
}

// Forms are the flow messages the fake accepted, oldest first.
func (s *Server) Forms() []SentForm {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.forms)
}

// LastForm is the latest flow message sent to the address (digits), if
// any.
func (s *Server) LastForm(to string) (SentForm, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	to = strings.TrimPrefix(to, "+")
	for i := len(s.forms) - 1; i >= 0; i-- {
		if s.forms[i].To == to {
			return s.forms[i], true
		}
	}
	return SentForm{}, false
}

// checkFlowSend refuses a flow message as Meta does: an unknown flow, a
// draft sent without mode draft, a deprecated or blocked flow. It returns
// false after writing the error.
func (s *Server) checkFlowSend(w http.ResponseWriter, body []byte) bool {
	var m struct {
		Type        string `json:"type"`
		Interactive struct {
			Type   string `json:"type"`
			Action struct {
				Parameters struct {
					Version string `json:"flow_message_version"`
					FlowID  string `json:"flow_id"`
					Mode    string `json:"mode"`
				} `json:"parameters"`
			} `json:"action"`
		} `json:"interactive"`
	}
	if json.Unmarshal(body, &m) != nil || m.Type != "interactive" || m.Interactive.Type != "flow" {
		return true
	}
	p := m.Interactive.Action.Parameters
	s.mu.Lock()
	f := s.flowByID(p.FlowID)
	status := ""
	if f != nil {
		status = f.Status
	}
	s.mu.Unlock()
	switch {
	case p.Version != "3":
		graphError(w, http.StatusBadRequest, 131009, 0, "(#131009) Parameter value is not valid", "flow_message_version must be \"3\"")
	case f == nil:
		graphError(w, http.StatusBadRequest, 131009, 0, "(#131009) Parameter value is not valid", "Invalid Flow ID "+p.FlowID)
	case status == "DRAFT" && p.Mode != "draft":
		graphError(w, http.StatusBadRequest, 131009, 0, "(#131009) Parameter value is not valid", "The flow is a draft: send it with mode draft, or publish it")
	case status == "DEPRECATED":
		graphError(w, http.StatusBadRequest, 131009, 0, "(#131009) Parameter value is not valid", "The flow is deprecated")
	case status == "BLOCKED":
		graphError(w, http.StatusBadRequest, 132068, 0, "(#132068) Flow is in blocked state", "")
	default:
		return true
	}
	return false
}

// formOf describes the flow a flow message opens (nil for a flow the fake
// does not know).
func (s *Server) formOf(flowID, cta, mode string) *Form {
	s.mu.Lock()
	f := s.flowByID(flowID)
	var raw []byte
	if f != nil {
		raw = f.JSON
	}
	s.mu.Unlock()
	if f == nil {
		return nil
	}
	out := &Form{FlowID: flowID, CTA: cta, Mode: mode, Screens: []FormScreen{}}
	fl, err := waform.Parse(raw)
	if err != nil {
		return out
	}
	for _, sc := range fl.Screens {
		fs := FormScreen{ID: sc.ID, Title: sc.Title, Terminal: sc.Terminal}
		fs.Fields = formFields(sc.Children, fs.Fields)
		out.Screens = append(out.Screens, fs)
	}
	return out
}

func formFields(cs []waform.Component, out []FormField) []FormField {
	for _, c := range cs {
		if c.Name != "" && c.Type != "Form" {
			ff := FormField{Name: c.Name, Type: c.Type}
			_ = json.Unmarshal(c.Props["label"], &ff.Label)
			_ = json.Unmarshal(c.Props["required"], &ff.Required)
			var opts []struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(c.Props["data-source"], &opts) == nil {
				for _, o := range opts {
					ff.Options = append(ff.Options, o.ID)
				}
			}
			out = append(out, ff)
		}
		out = formFields(c.Children, out)
	}
	return out
}
