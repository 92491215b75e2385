package waform

import (
	"embed"
	"encoding/json"
	"fmt"
)

//go:embed templates/*.json
var templateFS embed.FS

// Template is a built-in form a new WhatsApp Flow can start from.
type Template struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Category    string          `json:"category"` // one of Meta's flow categories
	Description string          `json:"description"`
	JSON        json.RawMessage `json:"flow_json"`
}

// Flow categories Meta accepts (spec §2).
var Categories = []string{"SIGN_UP", "SIGN_IN", "APPOINTMENT_BOOKING", "LEAD_GENERATION", "CONTACT_US", "CUSTOMER_SUPPORT", "SURVEY", "OTHER"}

var templateMeta = []Template{
	{ID: "appointment_booking", Name: "Appointment booking", Category: "APPOINTMENT_BOOKING",
		Description: "Service, date and time, then the customer's details and a confirmation screen."},
	{ID: "lead_capture", Name: "Lead capture", Category: "LEAD_GENERATION",
		Description: "Name, company, email, interest and budget on one screen."},
	{ID: "survey", Name: "Survey", Category: "SURVEY",
		Description: "A star rating, what they liked, and free comments."},
	{ID: "order_form", Name: "Order form", Category: "OTHER",
		Description: "Product, quantity and delivery, then the delivery address."},
	{ID: "sign_up", Name: "Sign-up", Category: "SIGN_UP",
		Description: "Name, email, birthday, terms of service and newsletter opt-ins."},
}

// Templates returns the built-in form templates (valid Flow JSON, latest version).
func Templates() []Template {
	out := make([]Template, 0, len(templateMeta))
	for _, t := range templateMeta {
		b, err := templateFS.ReadFile("templates/" + t.ID + ".json")
		if err != nil {
			panic(fmt.Sprintf("waform: embedded template %s missing: %v", t.ID, err)) // a build defect, caught by the tests
		}
		t.JSON = b
		out = append(out, t)
	}
	return out
}

// TemplateByID returns the template with the given id.
func TemplateByID(id string) (Template, bool) {
	for _, t := range Templates() {
		if t.ID == id {
			return t, true
		}
	}
	return Template{}, false
}
