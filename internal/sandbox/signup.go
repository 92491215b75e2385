package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel/whatsapp"
)

// Embedded signup and business profiles, as the Graph API answers them:
// the code exchange (GET /oauth/access_token), subscribing the app to a
// business account (POST /{waba}/subscribed_apps), registering a number
// (POST /{phone}/register), the business profile (GET/POST
// /{phone}/whatsapp_business_profile), the Resumable Upload API (POST
// /{app}/uploads, POST /upload:…) and display-name requests (POST
// /{phone}?new_display_name=…), whose review arrives later as a signed
// phone_number_name_update webhook. Answers follow Meta's documentation
// (docs/whatsapp.md names the pages).

// The sandbox's signup imitation: the code the UI's stand-in for Meta's
// signup window hands back starts with SignupCodePrefix; the business it
// "signs up" has SignupWABAID and the number SignupPhoneNumberID.
const (
	SignupCodePrefix     = "sandbox-signup-code-"
	SignupWABAID         = "100000000000002"
	SignupPhoneNumberID  = "100000000000888"
	SignupDisplayPhone   = "15550000888"
	SignupVerifiedName   = "Sandbox Bakery"
	SignupPIN            = "123456"
	businessTokenPrefix  = "sandbox-business-token-"
	defaultNameReviewFor = 2 * time.Second
)

// onboarded is a number the signup registered.
type onboarded struct {
	waba, displayPhone, verifiedName string
	registered                       bool
	profile                          map[string]any
	pendingName                      string
}

// signupState is the fake's memory of signups and profiles.
type signupState struct {
	tokens    map[string]bool
	callbacks map[string]string // WABA → webhook URL (override_callback_uri)
	numbers   map[string]*onboarded
	uploads   map[string]int // session → declared length
	handles   map[string]string
}

func (s *Server) signupRoutes() {
	s.signup = &signupState{tokens: map[string]bool{}, callbacks: map[string]string{}, numbers: map[string]*onboarded{},
		uploads: map[string]int{}, handles: map[string]string{}}
	s.mux.HandleFunc("GET /{version}/oauth/access_token", s.handleExchange)
	s.mux.HandleFunc("POST /{version}/{waba}/subscribed_apps", s.handleSubscribeApp)
	s.mux.HandleFunc("POST /{version}/{pnid}/register", s.handleRegister)
	s.mux.HandleFunc("GET /{version}/{pnid}/whatsapp_business_profile", s.handleGetProfile)
	s.mux.HandleFunc("POST /{version}/{pnid}/whatsapp_business_profile", s.handleSetProfile)
	s.mux.HandleFunc("POST /{version}/{app}/uploads", s.handleUploadSession)
}

// businessToken reports whether tok was issued by a code exchange.
func (s *Server) businessToken(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signup.tokens[tok]
}

// number is an onboarded number, or the configured one (with a profile
// made on first use).
func (s *Server) signupNumber(pnid string) *onboarded {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.signup.numbers[pnid]; n != nil {
		return n
	}
	if pnid == s.cfg.PhoneNumberID || s.cfg.PhoneNumberID == "" {
		n := &onboarded{waba: s.cfg.WABAID, displayPhone: s.cfg.DisplayPhoneNumber, verifiedName: s.cfg.VerifiedName, registered: true}
		s.signup.numbers[pnid] = n
		return n
	}
	return nil
}

func (s *Server) handleExchange(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if s.cfg.AppID != "" && q.Get("client_id") != s.cfg.AppID || q.Get("client_secret") != s.cfg.AppSecret {
		graphError(w, http.StatusBadRequest, 1, 0, "Error validating client secret.", "")
		return
	}
	code := q.Get("code")
	if !strings.HasPrefix(code, SignupCodePrefix) {
		graphError(w, http.StatusBadRequest, 100, 36007, "This authorization code has expired.", "")
		return
	}
	tok := businessTokenPrefix + strings.TrimPrefix(code, SignupCodePrefix)
	s.mu.Lock()
	s.signup.tokens[tok] = true
	if s.signup.numbers[SignupPhoneNumberID] == nil {
		s.signup.numbers[SignupPhoneNumberID] = &onboarded{waba: SignupWABAID, displayPhone: SignupDisplayPhone, verifiedName: SignupVerifiedName}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"access_token": tok})
}

func (s *Server) handleSubscribeApp(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	waba := r.PathValue("waba")
	if waba != SignupWABAID && waba != s.cfg.WABAID {
		graphError(w, http.StatusBadRequest, 100, 33, fmt.Sprintf("Unsupported post request. Object with ID '%s' does not exist.", waba), "")
		return
	}
	if cb := r.URL.Query().Get("override_callback_uri"); cb != "" {
		s.mu.Lock()
		s.signup.callbacks[waba] = cb
		s.mu.Unlock()
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	n := s.signupNumber(r.PathValue("pnid"))
	if n == nil {
		graphError(w, http.StatusBadRequest, 100, 33, fmt.Sprintf("Unsupported post request. Object with ID '%s' does not exist.", r.PathValue("pnid")), "")
		return
	}
	var body struct {
		MessagingProduct string `json:"messaging_product"`
		PIN              string `json:"pin"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	if body.MessagingProduct != "whatsapp" || len(body.PIN) != 6 {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) The parameter pin is required and must be 6 digits.", "")
		return
	}
	if body.PIN != SignupPIN {
		graphError(w, http.StatusBadRequest, 133005, 0, "Two step verification PIN Mismatch", "The PIN you entered does not match the two-step verification PIN of this number.")
		return
	}
	s.mu.Lock()
	n.registered = true
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

func (s *Server) handleGetProfile(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	n := s.signupNumber(r.PathValue("pnid"))
	if n == nil {
		graphError(w, http.StatusBadRequest, 100, 33, "Object does not exist", "")
		return
	}
	s.mu.Lock()
	p := map[string]any{"messaging_product": "whatsapp"}
	for k, v := range n.profile {
		p[k] = v
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"data": []any{p}})
}

// Meta's limits on profile fields (whatsapp_business_profile reference).
var profileLimits = map[string]int{"about": 139, "address": 256, "description": 512, "email": 128}

func (s *Server) handleSetProfile(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	n := s.signupNumber(r.PathValue("pnid"))
	if n == nil {
		graphError(w, http.StatusBadRequest, 100, 33, "Object does not exist", "")
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body["messaging_product"] != "whatsapp" {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) The parameter messaging_product is required.", "")
		return
	}
	for k, max := range profileLimits {
		if v, ok := body[k].(string); ok && len([]rune(v)) > max {
			graphError(w, http.StatusBadRequest, 100, 0, fmt.Sprintf("(#100) Param %s must be at most %d characters long.", k, max), "")
			return
		}
	}
	if ws, ok := body["websites"].([]any); ok && len(ws) > 2 {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) Param websites must be an array with at most 2 elements.", "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n.profile == nil {
		n.profile = map[string]any{}
	}
	for _, k := range []string{"about", "address", "description", "email", "vertical", "websites"} {
		if v, ok := body[k]; ok {
			n.profile[k] = v
		}
	}
	if h, ok := body["profile_picture_handle"].(string); ok {
		if _, known := s.signup.handles[h]; !known {
			graphError(w, http.StatusBadRequest, 100, 0, "(#100) Invalid profile_picture_handle.", "")
			return
		}
		n.profile["profile_picture_url"] = "http://" + r.Host + "/media-download/" + s.signup.handles[h]
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

func (s *Server) handleUploadSession(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	q := r.URL.Query()
	var length int
	if _, err := fmt.Sscan(q.Get("file_length"), &length); err != nil || length <= 0 || q.Get("file_type") == "" {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) file_length and file_type are required.", "")
		return
	}
	switch q.Get("file_type") {
	case "image/jpeg", "image/jpg", "image/png":
	default:
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) file_type must be image/jpeg or image/png here.", "")
		return
	}
	s.mu.Lock()
	s.seq++
	id := fmt.Sprintf("upload:%s%d", s.nonce, s.seq)
	s.signup.uploads[id] = length
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"id": id})
}

// uploadBytes is POST /upload:… (reached through handleEditTemplate's
// route, which has the same shape).
func (s *Server) uploadBytes(w http.ResponseWriter, r *http.Request, id string) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "OAuth ")
	if !ok || !(tok == s.cfg.AccessToken || s.cfg.AccessToken == "" || s.businessToken(tok)) {
		graphError(w, http.StatusUnauthorized, 190, 463, "Error validating access token (the upload takes Authorization: OAuth <token>).", "")
		return
	}
	s.mu.Lock()
	length, known := s.signup.uploads[id]
	s.mu.Unlock()
	if !known {
		graphError(w, http.StatusBadRequest, 100, 33, "Upload session does not exist.", "")
		return
	}
	if r.Header.Get("file_offset") != "0" {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) file_offset header is required.", "")
		return
	}
	data, _ := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if len(data) != length {
		graphError(w, http.StatusBadRequest, 100, 0, fmt.Sprintf("(#100) Uploaded %d bytes, the session declared %d.", len(data), length), "")
		return
	}
	s.mu.Lock()
	s.seq++
	mediaID := fmt.Sprintf("photo-%s%d", s.nonce, s.seq)
	s.media[mediaID] = &storedMedia{data: data, mime: r.Header.Get("Content-Type")}
	h := fmt.Sprintf("4::aW1hZ2U%s%d", s.nonce, s.seq)
	s.signup.handles[h] = mediaID
	delete(s.signup.uploads, id)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"h": h})
}

// requestDisplayName is POST /{phone}?new_display_name=…: accepted, and
// reviewed after NameReviewDelay — approved, unless the name contains
// "decline" (a stand-in for Meta's guidelines), then rejected.
func (s *Server) requestDisplayName(w http.ResponseWriter, r *http.Request, pnid, name string) {
	n := s.signupNumber(pnid)
	if n == nil {
		graphError(w, http.StatusBadRequest, 100, 33, "Object does not exist", "")
		return
	}
	if len([]rune(strings.TrimSpace(name))) < 3 {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) The display name must be at least 3 characters.", "")
		return
	}
	s.mu.Lock()
	n.pendingName = name
	waba, phone := n.waba, n.displayPhone
	u := s.signup.callbacks[waba]
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	decision, reason := "APPROVED", "NONE"
	if strings.Contains(strings.ToLower(name), "decline") {
		decision, reason = "REJECTED", "The display name does not follow the display name guidelines."
	}
	body, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": waba, "time": time.Now().Unix(), "changes": []any{map[string]any{"field": "phone_number_name_update", "value": map[string]any{
			"display_phone_number": phone, "decision": decision, "requested_verified_name": name, "rejection_reason": reason}}}}}})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if !s.sleep(s.cfg.NameReviewDelay) {
			return
		}
		s.mu.Lock()
		if decision == "APPROVED" && n.pendingName == name {
			n.verifiedName, n.pendingName = name, ""
		}
		s.mu.Unlock()
		if u != "" {
			s.deliverTo(u, body, http.Header{whatsapp.SignatureHeader: {whatsapp.Sign(body, s.cfg.AppSecret)}})
			return
		}
		s.deliver(body)
	}()
}

// registered reports whether pnid is a number the signup registered.
func (s *Server) registered(pnid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.signup.numbers[pnid]
	return n != nil && n.registered
}

// onboardedNumber is a number the signup made known (registered or not),
// or one whose name or profile was changed; nil otherwise.
func (s *Server) onboardedNumber(pnid string) *onboarded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signup.numbers[pnid]
}

// onboardedNames reads a signed-up number's display phone and verified
// name under the lock (a display-name review changes the name later).
func (s *Server) onboardedNames(pnid string) (display, verified string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.signup.numbers[pnid]
	if n == nil {
		return "", "", false
	}
	return n.displayPhone, n.verifiedName, true
}
