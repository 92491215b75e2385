package sandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/whatsapp"
	"github.com/parleyhq/parley/internal/template"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// graphError writes Meta's error envelope.
func graphError(w http.ResponseWriter, status, code, subcode int, msg, details string) {
	e := map[string]any{"message": msg, "type": "OAuthException", "code": code, "fbtrace_id": "SANDBOX"}
	if subcode != 0 {
		e["error_subcode"] = subcode
	}
	if details != "" {
		e["error_data"] = map[string]any{"messaging_product": "whatsapp", "details": details}
	}
	writeJSON(w, status, map[string]any{"error": e})
}

var sendTypes = map[string]bool{"text": true, "image": true, "video": true, "audio": true, "document": true,
	"sticker": true, "location": true, "contacts": true, "reaction": true, "interactive": true, "template": true}

func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request) {
	pnid := r.PathValue("pnid")
	if !s.authorized(w, r) || !s.knownNumber(w, pnid) {
		return
	}
	var fail *channel.ProviderError
	if f, ok := s.takeFault("messages"); ok {
		if s.applyFault(w, r, f) {
			return
		}
		if f.Kind == FaultAcceptThenFail {
			fail = failureOf(f)
		}
	}
	var m struct {
		MessagingProduct string `json:"messaging_product"`
		To               string `json:"to"`
		Type             string `json:"type"`
		Status           string `json:"status"`
		MessageID        string `json:"message_id"`
		BizOpaque        string `json:"biz_opaque_callback_data"`
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &m); err != nil {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) Invalid parameter", "the body is not JSON: "+err.Error())
		return
	}
	if m.MessagingProduct != "whatsapp" {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) The parameter messaging_product is required.", "")
		return
	}
	if m.Status == "read" {
		if m.MessageID == "" {
			graphError(w, http.StatusBadRequest, 100, 0, "(#100) The parameter message_id is required.", "")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"success": true})
		return
	}
	if m.To == "" {
		graphError(w, http.StatusBadRequest, 131008, 0, "(#131008) Required parameter is missing", "to is required")
		return
	}
	if !sendTypes[m.Type] {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) Invalid parameter", fmt.Sprintf("type %q is not supported", m.Type))
		return
	}
	if !s.checkFlowSend(w, body) {
		return
	}
	wamid := s.nextID("wamid.SANDBOX")
	waID := strings.TrimPrefix(m.To, "+")
	s.recordForm(waID, body)
	writeJSON(w, http.StatusOK, map[string]any{"messaging_product": "whatsapp",
		"contacts": []map[string]string{{"input": m.To, "wa_id": waID}},
		"messages": []map[string]string{{"id": wamid}}})
	s.recordReply(pnid, wamid, waID, body)
	s.sendStatuses(s.number(pnid), wamid, waID, m.BizOpaque, fail)
}

// NoDelay is a Config.StatusDelay that sends status webhooks at once.
const NoDelay time.Duration = -1

// sendStatuses posts the status webhooks of an accepted message in the
// background, each after StatusDelay.
func (s *Server) sendStatuses(pn number, wamid, recipient, opaque string, fail *channel.ProviderError) {
	states := s.cfg.Statuses
	if fail != nil {
		states = []string{string(channel.StateFailed)}
	}
	if len(states) == 0 {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for _, st := range states {
			if !s.sleep(s.cfg.StatusDelay) {
				return
			}
			var pe *channel.ProviderError
			if st == string(channel.StateFailed) {
				pe = fail
			}
			if s.cfg.WebhookBatch > 1 {
				s.queueStatus(pn, statusUpdate(wamid, recipient, channel.State(st), opaque, time.Now(), pe))
				continue
			}
			body, err := statusBody(pn, wamid, recipient, channel.State(st), opaque, time.Now(), pe)
			if err != nil {
				return
			}
			s.deliver(body)
		}
	}()
}

func (s *Server) sleep(d time.Duration) bool {
	if d <= 0 {
		return s.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// deliver POSTs a signed webhook, retrying a few times like Meta (which
// retries for days; a test does not wait that long).
func (s *Server) deliver(body []byte) {
	s.mu.Lock()
	u := s.webhookURL
	s.mu.Unlock()
	if u == "" {
		return
	}
	d := Delivery{URL: u, Body: body}
	for attempt := 0; attempt < 4; attempt++ {
		if attempt > 0 && !s.sleep(time.Duration(100<<attempt)*time.Millisecond) {
			break
		}
		status, err := postSigned(s.ctx, s.cfg.HTTPClient, u, s.cfg.AppSecret, body)
		d.Status, d.Err = status, ""
		if err != nil {
			d.Err = err.Error()
			continue
		}
		if status >= 200 && status < 300 {
			break
		}
	}
	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()
}

// storedMedia is an uploaded or seeded file.
type storedMedia struct {
	mime string
	data []byte
}

// AddMedia stores a file under id, e.g. the media of an inbound message a
// test sends as the customer.
func (s *Server) AddMedia(id, mime string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.media[id] = &storedMedia{mime: mime, data: append([]byte(nil), data...)}
}

func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) || !s.knownNumber(w, r.PathValue("pnid")) {
		return
	}
	if f, ok := s.takeFault("media"); ok && s.applyFault(w, r, f) {
		return
	}
	if err := r.ParseMultipartForm(100 << 20); err != nil {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) Invalid parameter", "multipart body expected: "+err.Error())
		return
	}
	if r.FormValue("messaging_product") != "whatsapp" {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) The parameter messaging_product is required.", "")
		return
	}
	file, hdr, err := r.FormFile("file")
	if err != nil {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) The parameter file is required.", "")
		return
	}
	defer file.Close()
	data, _ := io.ReadAll(file)
	mime := r.FormValue("type")
	if mime == "" {
		mime = hdr.Header.Get("Content-Type")
	}
	id := s.nextID("90000000000")
	s.AddMedia(id, mime, data)
	writeJSON(w, http.StatusOK, map[string]string{"id": id})
}

// handleGetObject serves GET /{id}: a media ID, the phone number, or the WABA.
func (s *Server) handleGetObject(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	id := r.PathValue("id")
	if s.getFlow(w, r, id) {
		return
	}
	s.mu.Lock()
	m := s.media[id]
	s.mu.Unlock()
	switch {
	case m != nil:
		if f, ok := s.takeFault("media"); ok && s.applyFault(w, r, f) {
			return
		}
		sum := sha256.Sum256(m.data)
		writeJSON(w, http.StatusOK, map[string]any{"messaging_product": "whatsapp", "id": id, "mime_type": m.mime,
			"sha256": hex.EncodeToString(sum[:]), "file_size": len(m.data),
			"url": "http://" + r.Host + "/media-download/" + id})
	case s.onboardedNumber(id) != nil:
		display, verified, _ := s.onboardedNames(id)
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "display_phone_number": display, "verified_name": verified,
			"quality_rating": "GREEN", "code_verification_status": "VERIFIED", "platform_type": "CLOUD_API", "throughput": map[string]string{"level": "STANDARD"}})
	case id == s.cfg.PhoneNumberID || (s.cfg.PhoneNumberID == "" && id != s.cfg.WABAID):
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "display_phone_number": s.cfg.DisplayPhoneNumber,
			"verified_name": s.cfg.VerifiedName, "quality_rating": "GREEN", "code_verification_status": "VERIFIED",
			"platform_type": "CLOUD_API", "throughput": map[string]string{"level": "STANDARD"}})
	case id == s.cfg.WABAID:
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "name": s.cfg.VerifiedName, "message_template_namespace": "sandbox"})
	default:
		graphError(w, http.StatusBadRequest, 100, 33, fmt.Sprintf("Unsupported get request. Object with ID '%s' does not exist.", id), "")
	}
}

func (s *Server) handleDeleteMedia(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	if s.deleteFlow(w, r.PathValue("id")) {
		return
	}
	s.mu.Lock()
	_, ok := s.media[r.PathValue("id")]
	delete(s.media, r.PathValue("id"))
	s.mu.Unlock()
	if !ok {
		graphError(w, http.StatusNotFound, 100, 33, "media not found", "")
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	s.mu.Lock()
	m := s.media[r.PathValue("id")]
	s.mu.Unlock()
	if m == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", m.mime)
	w.Header().Set("Content-Length", strconv.Itoa(len(m.data)))
	_, _ = io.Copy(w, bytes.NewReader(m.data))
}

// storedTemplate is a submitted template and the business account it was
// submitted to.
type storedTemplate struct {
	t    template.Template
	waba string
}

func (s *Server) handleCreateTemplate(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	if f, ok := s.takeFault("message_templates"); ok && s.applyFault(w, r, f) {
		return
	}
	var t template.Template
	if err := json.NewDecoder(r.Body).Decode(&t); err != nil {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) Invalid parameter", "the body is not a template: "+err.Error())
		return
	}
	if err := template.Validate(&t); err != nil {
		graphError(w, http.StatusBadRequest, 100, 2388042, "(#100) Invalid parameter", err.Error())
		return
	}
	s.mu.Lock()
	for _, st := range s.templates {
		if st.t.Name == t.Name && st.t.Language == t.Language {
			s.mu.Unlock()
			graphError(w, http.StatusBadRequest, 100, 2388023, "(#100) Invalid parameter",
				fmt.Sprintf("Message template %q already exists in %s", t.Name, t.Language))
			return
		}
	}
	s.seq++
	t.ID = fmt.Sprintf("17%014d", s.seq)
	t.Status = template.StatusPending
	s.templates = append(s.templates, &storedTemplate{t: t, waba: r.PathValue("waba")})
	s.mu.Unlock()
	s.review(r.PathValue("waba"), t)
	writeJSON(w, http.StatusOK, map[string]string{"id": t.ID, "status": string(t.Status), "category": string(t.Category)})
}

// review starts the review of a submitted or edited template as
// cfg.TemplateReview says; it is called before the submission is answered.
func (s *Server) review(waba string, t template.Template) {
	switch s.cfg.TemplateReview {
	case ReviewBeforeAnswer:
		s.approve(waba, t)
	case ReviewManual:
	default:
		s.approveLater(waba, t)
	}
}

// approveLater approves a pending template after the configured delay and
// sends its signed status webhook, as Meta's review would.
func (s *Server) approveLater(waba string, t template.Template) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if !s.sleep(s.cfg.TemplateApprovalDelay) {
			return
		}
		s.approve(waba, t)
	}()
}

// approve approves a template now and delivers its signed status webhook,
// returning once Parley acknowledged it (or delivery gave up). It reports
// whether the template still existed.
func (s *Server) approve(waba string, t template.Template) bool {
	s.mu.Lock()
	found := false
	for _, st := range s.templates {
		if st.t.ID == t.ID {
			st.t.Status, found = template.StatusApproved, true
		}
	}
	s.mu.Unlock()
	if !found {
		return false
	}
	body, err := templateStatusBody(waba, t.ID, t.Name, t.Language, string(t.Category), "APPROVED", "NONE")
	if err == nil {
		s.deliver(body)
	}
	return true
}

// ApprovePending approves every PENDING template now (ReviewManual's
// review), delivering each status webhook before returning; it returns how
// many it approved.
func (s *Server) ApprovePending() int {
	type pending struct {
		waba string
		t    template.Template
	}
	var todo []pending
	s.mu.Lock()
	for _, st := range s.templates {
		if st.t.Status == template.StatusPending {
			todo = append(todo, pending{waba: st.waba, t: st.t})
		}
	}
	s.mu.Unlock()
	n := 0
	for _, p := range todo {
		if s.approve(p.waba, p.t) {
			n++
		}
	}
	return n
}

// handleEditTemplate takes new components for a template (POST
// /{template_id}): back to PENDING, approved again later.
func (s *Server) handleEditTemplate(w http.ResponseWriter, r *http.Request) {
	if id := r.PathValue("id"); strings.HasPrefix(id, "upload:") {
		s.uploadBytes(w, r, id) // authorised by "OAuth <token>", not Bearer
		return
	}
	if !s.authorized(w, r) {
		return
	}
	if s.updateFlow(w, r, r.PathValue("id")) {
		return
	}
	if name := r.URL.Query().Get("new_display_name"); name != "" {
		s.requestDisplayName(w, r, r.PathValue("id"), name)
		return
	}
	if f, ok := s.takeFault("message_templates"); ok && s.applyFault(w, r, f) {
		return
	}
	var edit struct {
		Category   template.Category    `json:"category"`
		Components []template.Component `json:"components"`
	}
	if err := json.NewDecoder(r.Body).Decode(&edit); err != nil {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) Invalid parameter", "the body is not a template edit: "+err.Error())
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	var st *storedTemplate
	for _, x := range s.templates {
		if x.t.ID == id {
			st = x
		}
	}
	if st == nil {
		s.mu.Unlock()
		graphError(w, http.StatusBadRequest, 100, 33, "(#100) Unsupported post request", "Object with ID '"+id+"' does not exist")
		return
	}
	t := st.t
	if edit.Category != "" {
		t.Category = edit.Category
	}
	if edit.Components != nil {
		t.Components = edit.Components
	}
	if err := template.Validate(&t); err != nil {
		s.mu.Unlock()
		graphError(w, http.StatusBadRequest, 100, 2388042, "(#100) Invalid parameter", err.Error())
		return
	}
	t.Status = template.StatusPending
	st.t = t
	waba := st.waba
	s.mu.Unlock()
	if waba == "" {
		waba = s.cfg.WABAID
	}
	s.review(waba, t)
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

func (s *Server) handleListTemplates(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 25
	}
	start, _ := strconv.Atoi(r.URL.Query().Get("after"))
	name := r.URL.Query().Get("name")
	s.mu.Lock()
	var all []map[string]any
	for _, st := range s.templates {
		if name != "" && st.t.Name != name {
			continue
		}
		def := st.t.Definition()
		all = append(all, map[string]any{"id": st.t.ID, "name": def.Name, "language": def.Language,
			"status": st.t.Status, "category": def.Category, "components": def.Components,
			"parameter_format": orPositional(def.ParameterFormat), "quality_score": map[string]string{"score": "UNKNOWN"}})
	}
	s.mu.Unlock()
	start = min(max(start, 0), len(all))
	end := min(start+limit, len(all))
	page := map[string]any{"data": append([]map[string]any{}, all[start:end]...)}
	paging := map[string]any{"cursors": map[string]string{"before": strconv.Itoa(start), "after": strconv.Itoa(end)}}
	if end < len(all) {
		q := r.URL.Query()
		q.Set("after", strconv.Itoa(end))
		paging["next"] = "http://" + r.Host + r.URL.Path + "?" + q.Encode()
	}
	page["paging"] = paging
	writeJSON(w, http.StatusOK, page)
}

func orPositional(f string) string {
	if f == "" {
		return template.Positional
	}
	return f
}

func (s *Server) handleDeleteTemplate(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	name := r.URL.Query().Get("name")
	s.mu.Lock()
	kept := s.templates[:0]
	deleted := 0
	for _, st := range s.templates {
		if st.t.Name == name {
			deleted++
			continue
		}
		kept = append(kept, st)
	}
	s.templates = kept
	s.mu.Unlock()
	if deleted == 0 {
		graphError(w, http.StatusBadRequest, 100, 2593002, "(#100) Invalid parameter", fmt.Sprintf("template %q not found", name))
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// postSigned POSTs body with Meta's signature header.
func postSigned(ctx context.Context, hc *http.Client, url, secret string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("posting a webhook to %s: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(whatsapp.SignatureHeader, whatsapp.Sign(body, secret))
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("posting a webhook to %s: %w", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}
