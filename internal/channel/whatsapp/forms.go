package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/parleyhq/parley/internal/channel"
)

// The forms capability: WhatsApp Flows through the Flows management API
// (spec §2). Flows live in the business account (waba_id); the encryption
// key belongs to the phone number.

var _ channel.FormProvider = (*Adapter)(nil)

// CreateForm implements channel.FormProvider.
func (a *Adapter) CreateForm(ctx context.Context, f channel.FormMeta) (string, error) {
	return a.client.CreateFlow(ctx, f)
}

// UpdateFormMeta implements channel.FormProvider.
func (a *Adapter) UpdateFormMeta(ctx context.Context, id string, f channel.FormMeta) error {
	return a.client.UpdateFlowMeta(ctx, id, f)
}

// UploadFormJSON implements channel.FormProvider.
func (a *Adapter) UploadFormJSON(ctx context.Context, id string, def []byte) ([]channel.FormProblem, error) {
	return a.client.UploadFlowJSON(ctx, id, def)
}

// PublishForm implements channel.FormProvider.
func (a *Adapter) PublishForm(ctx context.Context, id string) error {
	return a.client.flowAction(ctx, id, "publish")
}

// DeprecateForm implements channel.FormProvider.
func (a *Adapter) DeprecateForm(ctx context.Context, id string) error {
	return a.client.flowAction(ctx, id, "deprecate")
}

// DeleteForm implements channel.FormProvider.
func (a *Adapter) DeleteForm(ctx context.Context, id string) error {
	if err := a.client.call(ctx, http.MethodDelete, a.client.endpoint(id), "", nil, nil); err != nil {
		return errorf(err, "deleting flow %s", id)
	}
	return nil
}

// GetForm implements channel.FormProvider.
func (a *Adapter) GetForm(ctx context.Context, id string) (channel.FormState, error) {
	return a.client.GetFlow(ctx, id)
}

// UploadFormKey implements channel.FormProvider.
func (a *Adapter) UploadFormKey(ctx context.Context, publicKeyPEM string) error {
	return a.client.UploadEncryptionKey(ctx, publicKeyPEM)
}

// CreateFlow creates a draft flow (POST /{waba_id}/flows) and returns
// Meta's ID.
func (c *Client) CreateFlow(ctx context.Context, f channel.FormMeta) (string, error) {
	if c.cfg.WABAID == "" {
		return "", fmt.Errorf("creating flow %q: the channel has no waba_id (flows live in the business account)", f.Name)
	}
	body := map[string]any{"name": f.Name, "categories": f.Categories}
	if f.EndpointURI != "" {
		body["endpoint_uri"] = f.EndpointURI
	}
	b, _ := json.Marshal(body)
	var r struct {
		ID flexStr `json:"id"`
	}
	if err := c.call(ctx, http.MethodPost, c.endpoint(c.cfg.WABAID, "flows"), "application/json", bytes.NewReader(b), &r); err != nil {
		return "", errorf(err, "creating flow %q", f.Name)
	}
	if r.ID == "" {
		return "", fmt.Errorf("creating flow %q: Meta answered without an id", f.Name)
	}
	return string(r.ID), nil
}

// UpdateFlowMeta changes a flow's name, categories and endpoint (POST
// /{flow_id}).
func (c *Client) UpdateFlowMeta(ctx context.Context, id string, f channel.FormMeta) error {
	body := map[string]any{"name": f.Name, "categories": f.Categories}
	if f.EndpointURI != "" {
		body["endpoint_uri"] = f.EndpointURI
	}
	b, _ := json.Marshal(body)
	if err := c.call(ctx, http.MethodPost, c.endpoint(id), "application/json", bytes.NewReader(b), nil); err != nil {
		return errorf(err, "updating flow %s", id)
	}
	return nil
}

// UploadFlowJSON replaces a flow's Flow JSON (POST /{flow_id}/assets,
// multipart, asset_type FLOW_JSON) and returns Meta's validation errors.
func (c *Client) UploadFlowJSON(ctx context.Context, id string, def []byte) ([]channel.FormProblem, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("name", "flow.json")
	_ = w.WriteField("asset_type", "FLOW_JSON")
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="flow.json"`)
	h.Set("Content-Type", "application/json")
	part, _ := w.CreatePart(h)
	_, _ = part.Write(def)
	_ = w.Close()
	var r struct {
		Success          bool          `json:"success"`
		ValidationErrors []metaProblem `json:"validation_errors"`
	}
	if err := c.call(ctx, http.MethodPost, c.endpoint(id, "assets"), w.FormDataContentType(), &buf, &r); err != nil {
		return nil, errorf(err, "uploading the Flow JSON of flow %s", id)
	}
	return metaPointers(r.ValidationErrors), nil
}

func (c *Client) flowAction(ctx context.Context, id, action string) error {
	if err := c.call(ctx, http.MethodPost, c.endpoint(id, action), "", nil, nil); err != nil {
		return errorf(err, "%s flow %s", strings.TrimSuffix(action, "e")+"ing", id)
	}
	return nil
}

// GetFlow reads a flow's status, validation errors and preview URL (GET
// /{flow_id}?fields=…).
func (c *Client) GetFlow(ctx context.Context, id string) (channel.FormState, error) {
	q := url.Values{"fields": {"id,name,categories,status,validation_errors,preview.invalidate(false)"}}
	var r struct {
		ID               flexStr       `json:"id"`
		Name             string        `json:"name"`
		Status           string        `json:"status"`
		Categories       []string      `json:"categories"`
		ValidationErrors []metaProblem `json:"validation_errors"`
		Preview          *struct {
			PreviewURL string `json:"preview_url"`
		} `json:"preview"`
	}
	if err := c.call(ctx, http.MethodGet, c.endpoint(id)+"?"+q.Encode(), "", nil, &r); err != nil {
		return channel.FormState{}, errorf(err, "reading flow %s", id)
	}
	st := channel.FormState{ID: string(r.ID), Name: r.Name, Status: r.Status, Categories: r.Categories, ValidationErrors: metaPointers(r.ValidationErrors)}
	if st.ValidationErrors == nil {
		st.ValidationErrors = []channel.FormProblem{}
	}
	if r.Preview != nil {
		st.PreviewURL = r.Preview.PreviewURL
	}
	return st, nil
}

// UploadEncryptionKey registers the business public key of the channel's
// number (POST /{phone_number_id}/whatsapp_business_encryption, form field
// business_public_key); Meta signs it.
func (c *Client) UploadEncryptionKey(ctx context.Context, publicKeyPEM string) error {
	form := url.Values{"business_public_key": {publicKeyPEM}}
	if err := c.call(ctx, http.MethodPost, c.endpoint(c.cfg.PhoneNumberID, "whatsapp_business_encryption"), "application/x-www-form-urlencoded",
		strings.NewReader(form.Encode()), nil); err != nil {
		return errorf(err, "uploading the flows encryption key")
	}
	return nil
}

// metaProblem is one entry of Meta's validation_errors.
type metaProblem struct {
	channel.FormProblem
	Pointers []struct {
		Path string `json:"path"`
	} `json:"pointers"`
}

// metaPointers turns Meta's problems into ours, with the JSON pointer of
// Meta's dotted path (pointers[0].path, "screens[0].layout.children[1]").
func metaPointers(ps []metaProblem) []channel.FormProblem {
	if ps == nil {
		return nil
	}
	out := make([]channel.FormProblem, len(ps))
	for i, p := range ps {
		out[i] = p.FormProblem
		if out[i].Pointer == "" && len(p.Pointers) > 0 {
			out[i].Pointer = dottedToPointer(p.Pointers[0].Path)
		}
	}
	return out
}

// dottedToPointer converts "screens[0].layout.children[1]" to
// "/screens/0/layout/children/1".
func dottedToPointer(path string) string {
	if path == "" {
		return ""
	}
	r := strings.NewReplacer("[", ".", "]", "", "~", "~0", "/", "~1")
	var b strings.Builder
	for _, seg := range strings.Split(r.Replace(path), ".") {
		if seg != "" {
			b.WriteString("/" + seg)
		}
	}
	return b.String()
}
