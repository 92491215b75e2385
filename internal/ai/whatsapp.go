package ai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/waflow"
	"github.com/parleyhq/parley/internal/waform"
)

// Forms is what the WhatsApp Flow generator needs of the WhatsApp Flows
// service: it stores drafts through it (never pushing them to Meta) and
// validates with the project's validator.
type Forms interface {
	Get(ctx context.Context, projectID, id string) (store.WhatsAppFlow, error)
	Create(ctx context.Context, p waflow.CreateParams) (store.WhatsAppFlow, error)
	Update(ctx context.Context, p waflow.UpdateParams) (store.WhatsAppFlow, error)
	Validate(raw []byte) []channel.FormProblem
}

// StageSaving is reported while a valid WhatsApp Flow is stored.
const StageSaving = "saving"

// FormGenerateParams ask for a WhatsApp Flow from a description.
type FormGenerateParams struct {
	ProjectID   string
	ProviderID  string
	Description string
	// Name and Categories, when set, replace the model's.
	Name       string
	Categories []string
	// ChannelID is stored on the draft; nothing is sent to Meta.
	ChannelID string
}

// FormUpdateParams ask for a change to a stored WhatsApp Flow.
type FormUpdateParams struct {
	ProjectID   string
	ProviderID  string
	ID          string
	Instruction string
}

// FormResult is a generated or changed WhatsApp Flow. Flow is the stored
// draft when Status is "ready"; otherwise nothing was stored and FlowJSON
// is the best attempt with its Problems.
type FormResult struct {
	Status      string                `json:"status"`
	Note        string                `json:"note"`
	Rounds      int                   `json:"rounds"`
	Name        string                `json:"name"`
	Categories  []string              `json:"categories"`
	FlowJSON    string                `json:"flow_json"`
	Problems    []channel.FormProblem `json:"problems"`
	Flow        *store.WhatsAppFlow   `json:"-"`
	BaseVersion int                   `json:"base_version,omitempty"`
	Usage       Usage                 `json:"usage"`
}

// formAnswer is the model's answer.
type formAnswer struct {
	Name       string          `json:"name"`
	Categories []string        `json:"categories"`
	Flow       json.RawMessage `json:"flow"`
}

type formCandidate struct {
	name     string
	cats     []string
	json     string
	problems []channel.FormProblem
	errors   int
}

// ReadyForm checks a generation's input and provider before a stream starts.
func (s *Service) ReadyForm(ctx context.Context, p FormGenerateParams) error {
	if strings.TrimSpace(p.Description) == "" {
		return domain.Invalid("/description", "a description is required (what the form asks, in words)")
	}
	for i, c := range p.Categories {
		if !slices.Contains(waflow.Categories, c) {
			return domain.Invalid(fmt.Sprintf("/categories/%d", i), "unknown category %q (one of %s)", c, strings.Join(waflow.Categories, ", "))
		}
	}
	if s.d.Forms == nil {
		return domain.Errorf(domain.CodeUnavailable, "this server was started without the WhatsApp Flows service")
	}
	if p.ChannelID != "" && s.d.Store != nil {
		// Checked before the model is paid for; the service checks it
		// again when it stores the draft.
		if _, err := s.d.Store.ChannelGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: p.ChannelID}); errors.Is(err, store.ErrNotFound) {
			return domain.Invalid("/channel_id", "no channel %q in this project", p.ChannelID)
		} else if err != nil {
			return fmt.Errorf("reading channel %s: %w", p.ChannelID, err)
		}
	}
	_, err := s.Pick(ctx, p.ProjectID, p.ProviderID)
	return err
}

// ReadyFormUpdate checks an update's input, flow and provider.
func (s *Service) ReadyFormUpdate(ctx context.Context, p FormUpdateParams) error {
	if strings.TrimSpace(p.Instruction) == "" {
		return domain.Invalid("/instruction", "an instruction is required (what to change, in words)")
	}
	if s.d.Forms == nil {
		return domain.Errorf(domain.CodeUnavailable, "this server was started without the WhatsApp Flows service")
	}
	f, err := s.d.Forms.Get(ctx, p.ProjectID, p.ID)
	if err != nil {
		return err
	}
	if f.Status == store.WhatsAppFlowDeprecated {
		return domain.Errorf(domain.CodeConflict, "WhatsApp Flow %q is deprecated and cannot change; clone it", f.Name)
	}
	_, err = s.Pick(ctx, p.ProjectID, p.ProviderID)
	return err
}

// GenerateForm drafts a WhatsApp Flow (Flow JSON of the latest version)
// from a description, validates it with the project's validator and
// repairs it at most MaxRepairRounds times with the validator's errors. A
// valid one is stored as a DRAFT (never pushed to Meta); an invalid best
// attempt is returned with its problems and not stored.
func (s *Service) GenerateForm(ctx context.Context, p FormGenerateParams, progress func(Progress)) (FormResult, error) {
	if progress == nil {
		progress = func(Progress) {}
	}
	if err := s.ReadyForm(ctx, p); err != nil {
		return FormResult{}, err
	}
	prov, err := s.Pick(ctx, p.ProjectID, p.ProviderID)
	if err != nil {
		return FormResult{}, err
	}
	progress(Progress{Stage: StagePlanning, Detail: fmt.Sprintf("asking %s (%s) for a WhatsApp Flow (Flow JSON %s)", prov.Name, prov.Model, waform.LatestVersion)})
	user := "Build this WhatsApp Flow: " + p.Description + "\n"
	if p.Name != "" {
		user += "Its name: " + p.Name + "\n"
	}
	if len(p.Categories) > 0 {
		user += "Its categories: " + strings.Join(p.Categories, ", ") + "\n"
	}
	r, err := s.formLoop(ctx, prov, []Message{{Role: "system", Content: formSystemPrompt(prov.JSONMode)}, {Role: "user", Content: user}}, progress)
	if err != nil {
		return r, err
	}
	if p.Name != "" {
		r.Name = p.Name
	}
	if len(p.Categories) > 0 {
		r.Categories = p.Categories
	}
	if r.Status != "ready" {
		progress(Progress{Stage: StageDone, Detail: r.Note})
		return r, nil
	}
	progress(Progress{Stage: StageSaving, Detail: "saving the WhatsApp Flow as a draft (not sent to Meta)"})
	name := r.Name
	for n := 2; ; n++ {
		f, err := s.d.Forms.Create(ctx, waflow.CreateParams{ProjectID: p.ProjectID, Name: name, Categories: r.Categories, JSON: r.FlowJSON, ChannelID: p.ChannelID, Local: true})
		if err == nil {
			r.Flow, r.Name = &f, f.Name
			break
		}
		if domain.CodeOf(err) != domain.CodeConflict || n > 9 || p.Name != "" {
			return r, fmt.Errorf("saving the generated WhatsApp Flow: %w", err)
		}
		name = fmt.Sprintf("%s (%d)", r.Name, n) // the model's name is taken
	}
	r.Note = "the Flow JSON is valid and saved as a draft; it is sent to Meta when you sync or publish it"
	progress(Progress{Stage: StageDone, Detail: r.Note})
	return r, nil
}

// UpdateForm changes a stored WhatsApp Flow by an instruction: validated
// and repaired like GenerateForm, stored with the version it was made from
// (a conflict when the flow changed meanwhile) and never pushed to Meta;
// the flow keeps its ID and Meta Flow ID.
func (s *Service) UpdateForm(ctx context.Context, p FormUpdateParams, progress func(Progress)) (FormResult, error) {
	if progress == nil {
		progress = func(Progress) {}
	}
	if err := s.ReadyFormUpdate(ctx, p); err != nil {
		return FormResult{}, err
	}
	f, err := s.d.Forms.Get(ctx, p.ProjectID, p.ID)
	if err != nil {
		return FormResult{}, err
	}
	prov, err := s.Pick(ctx, p.ProjectID, p.ProviderID)
	if err != nil {
		return FormResult{}, err
	}
	progress(Progress{Stage: StagePlanning, Detail: fmt.Sprintf("asking %s (%s) for a change to %q", prov.Name, prov.Model, f.Name)})
	user := fmt.Sprintf("The WhatsApp Flow %q (categories %s) is:\n%s\nChange it: %s\nKeep everything the instruction does not touch as it is. Answer with the whole changed flow (name and categories unchanged).\n",
		f.Name, strings.Join(f.Categories, ", "), f.JSON, p.Instruction)
	r, err := s.formLoop(ctx, prov, []Message{{Role: "system", Content: formSystemPrompt(prov.JSONMode)}, {Role: "user", Content: user}}, progress)
	r.BaseVersion = f.Version
	if err != nil {
		return r, err
	}
	r.Name, r.Categories = f.Name, f.Categories
	if r.Status != "ready" {
		progress(Progress{Stage: StageDone, Detail: r.Note})
		return r, nil
	}
	progress(Progress{Stage: StageSaving, Detail: "saving the change (not sent to Meta)"})
	js := r.FlowJSON
	saved, err := s.d.Forms.Update(ctx, waflow.UpdateParams{ProjectID: p.ProjectID, ID: f.ID, Version: f.Version, JSON: &js, Local: true})
	if err != nil {
		return r, fmt.Errorf("saving the changed WhatsApp Flow: %w", err)
	}
	r.Flow = &saved
	r.Note = "the changed Flow JSON is valid and saved as a draft; it is sent to Meta when you sync or publish it"
	if f.MetaFlowID != "" {
		r.Note += " (it keeps its Meta Flow ID " + f.MetaFlowID + ")"
	}
	progress(Progress{Stage: StageDone, Detail: r.Note})
	return r, nil
}

// formLoop asks for a flow and repairs it with the validator's errors.
func (s *Service) formLoop(ctx context.Context, prov store.AIProvider, msgs []Message, progress func(Progress)) (FormResult, error) {
	schema := FormSchema()
	var r FormResult
	var best *formCandidate
	var lastErr error
	for round := 0; round <= MaxRepairRounds; round++ {
		stage := Progress{Stage: StageDrafting, Detail: "the model is writing the Flow JSON"}
		if round > 0 {
			stage = Progress{Stage: StageRepairing, Round: round, MaxRounds: MaxRepairRounds, Detail: fmt.Sprintf("sending %d validation errors back to the model", best.errors)}
		}
		progress(stage)
		res, err := s.Complete(ctx, prov, Request{Messages: msgs, Schema: schema, SchemaName: "whatsapp_flow", Stream: true, OnDelta: every500(stage, progress)})
		r.Usage.add(res)
		if err != nil {
			lastErr = err
			if best == nil {
				return r, err
			}
			break
		}
		progress(Progress{Stage: StageValidating, Round: round, Detail: "checking the Flow JSON with the validator"})
		c := s.checkForm(res.Content, res.FinishReason)
		if best == nil || c.errors < best.errors {
			best = &c
		}
		if c.errors == 0 || round == MaxRepairRounds {
			break
		}
		msgs = append(msgs, Message{Role: "assistant", Content: res.Content}, Message{Role: "user", Content: formRepairPrompt(c)})
	}
	r.Rounds = max(r.Usage.Calls-1, 0)
	r.Name, r.Categories, r.FlowJSON, r.Problems = best.name, best.cats, best.json, best.problems
	if r.Problems == nil {
		r.Problems = []channel.FormProblem{}
	}
	switch {
	case best.errors == 0:
		r.Status = "ready"
	case lastErr != nil:
		r.Status, r.Note = "has_problems", fmt.Sprintf("the model stopped answering during repair (%v); nothing was saved — this is the best attempt, with its problems", lastErr)
	default:
		r.Status, r.Note = "has_problems", fmt.Sprintf("the Flow JSON still has %d validation errors after %d repair rounds; nothing was saved — this is the best attempt, with its problems", countErrors(best.problems), MaxRepairRounds)
	}
	return r, nil
}

func countErrors(ps []channel.FormProblem) int {
	n := 0
	for _, p := range ps {
		if p.Severity != "warning" {
			n++
		}
	}
	return n
}

// checkForm parses an answer and validates its Flow JSON, indented as it
// is stored so lines and columns point into what the author sees.
func (s *Service) checkForm(content, finish string) formCandidate {
	c := formCandidate{name: "Generated form", cats: []string{"OTHER"}}
	fail := func(ptr, code, msg string) formCandidate {
		c.problems = []channel.FormProblem{{Error: code, Message: msg, Pointer: ptr, Severity: "error", Source: "parley"}}
		c.errors = 1 << 20
		return c
	}
	var a formAnswer
	if err := json.Unmarshal([]byte(stripFence(content)), &a); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fail("/"+strings.ReplaceAll(te.Field, ".", "/"), waform.CodeInvalidPropertyType, fmt.Sprintf("%s must be a JSON %s, not %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value))
		}
		msg := "the answer is not valid JSON: " + err.Error()
		if finish == "length" {
			msg = "the answer was cut at the provider's max_tokens before the JSON was complete: write fewer screens"
		}
		return fail("", waform.CodeInvalidFlowJSON, msg)
	}
	if strings.TrimSpace(a.Name) != "" {
		c.name = strings.TrimSpace(a.Name)
	}
	var cats []string
	for _, cat := range a.Categories {
		if slices.Contains(waflow.Categories, cat) {
			cats = append(cats, cat)
		}
	}
	if len(cats) > 0 {
		c.cats = cats
	}
	if len(bytes.TrimSpace(a.Flow)) == 0 || string(bytes.TrimSpace(a.Flow)) == "null" {
		return fail("/flow", waform.CodeMissingRequiredProperty, `the answer has no "flow" object (the Flow JSON)`)
	}
	if a.Flow[0] != '{' {
		return fail("/flow", waform.CodeInvalidPropertyType, `"flow" must be the Flow JSON object ({"version", "screens"}), not a string or an array`)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, a.Flow, "", "  "); err != nil {
		return fail("/flow", waform.CodeInvalidFlowJSON, "the flow is not valid JSON: "+err.Error())
	}
	c.json = buf.String()
	c.problems = s.d.Forms.Validate(buf.Bytes())
	var v struct {
		Version any `json:"version"`
	}
	if json.Unmarshal(buf.Bytes(), &v) == nil && v.Version != nil && v.Version != waform.LatestVersion && countErrors(c.problems) == 0 {
		c.problems = append(c.problems, channel.FormProblem{Error: waform.CodeUnsupportedFlowJSONVersion, Pointer: "/version", Severity: "error",
			Message: fmt.Sprintf("new flows use the latest Flow JSON version: set \"version\" to %q", waform.LatestVersion)})
	}
	for i := range c.problems {
		c.problems[i].Source = "parley"
	}
	c.errors = countErrors(c.problems)
	return c
}

// FormSchema is the JSON schema of a WhatsApp Flow answer: a name,
// Meta's categories and the Flow JSON object at the latest version. The
// Flow JSON's own rules are the validator's (they depend on the version
// and are beyond what a schema says); its errors are sent back.
func FormSchema() json.RawMessage {
	str := map[string]any{"type": "string"}
	schema := map[string]any{
		"type": "object", "additionalProperties": false, "required": []string{"name", "categories", "flow"},
		"properties": map[string]any{
			"name":       str,
			"categories": map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": waflow.Categories}},
			"flow": map[string]any{"type": "object", "required": []string{"version", "screens"},
				"properties": map[string]any{
					"version": map[string]any{"type": "string", "enum": []string{waform.LatestVersion}},
					"screens": map[string]any{"type": "array", "items": map[string]any{
						"type": "object", "required": []string{"id", "title", "layout"},
						"properties": map[string]any{
							"id": map[string]any{"type": "string", "description": "upper case letters and underscores, e.g. DETAILS"}, "title": str,
							"terminal": map[string]any{"type": "boolean"}, "success": map[string]any{"type": "boolean"},
							"data": map[string]any{"type": "object"},
							"layout": map[string]any{"type": "object", "required": []string{"type", "children"}, "properties": map[string]any{
								"type":     map[string]any{"type": "string", "enum": []string{"SingleColumnLayout"}},
								"children": map[string]any{"type": "array", "items": map[string]any{"type": "object", "required": []string{"type"}, "properties": map[string]any{"type": map[string]any{"type": "string", "enum": waform.ComponentTypes()}}}},
							}},
						},
					}},
				}},
		},
	}
	b, _ := json.Marshal(schema)
	return b
}

func formSystemPrompt(mode string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "You write WhatsApp Flows (Meta's multi-screen forms) as Flow JSON version %s. Answer with one JSON object and nothing else: "+
		`{"name": "...", "categories": [one or more of %s], "flow": {the Flow JSON}}.`+"\n", waform.LatestVersion, strings.Join(waflow.Categories, ", "))
	b.WriteString("Rules:\n" +
		"- \"version\": \"" + waform.LatestVersion + "\"; no data_api_version and no routing_model (the flow has no endpoint).\n" +
		"- Screen ids are upper case letters and underscores (never SUCCESS); each screen has a title and a SingleColumnLayout.\n" +
		"- Inputs have a unique name; labels of TextInput, TextArea and Dropdown have at most 20 characters; TextHeading at most 80.\n" +
		"- Each screen ends with one Footer whose on-click-action is navigate (next: {\"type\":\"screen\",\"name\":\"NEXT\"}, payload carrying the earlier answers) or, on the last screen, complete with a payload of every answer (\"${form.name}\" on its own screen, \"${data.name}\" for values passed in).\n" +
		"- A screen that receives values declares them in its data object (\"name\": {\"type\": \"string\", \"__example__\": \"...\"}).\n" +
		"- The last screen has \"terminal\": true and \"success\": true. Data sources are arrays of {\"id\",\"title\"}.\n" +
		"- Components: " + strings.Join(waform.ComponentTypes(), ", ") + ".\n")
	b.WriteString("Two valid examples:\n")
	for _, id := range []string{"lead_capture", "appointment_booking"} {
		if t, ok := waform.TemplateByID(id); ok {
			var c bytes.Buffer
			if json.Compact(&c, t.JSON) == nil {
				fmt.Fprintf(&b, "%s (%s): %s\n", t.Name, t.Category, c.String())
			}
		}
	}
	if mode == JSONObject {
		b.WriteString("\nThe answer must conform to this JSON schema:\n")
		b.Write(FormSchema())
	}
	return b.String()
}

// formRepairPrompt lists the validator's errors the way a model can fix
// them: line and column in the indented flow, JSON pointer, Meta's code.
func formRepairPrompt(c formCandidate) string {
	var b strings.Builder
	b.WriteString("The validator found these errors in your Flow JSON (pointers are into \"flow\"; lines and columns into it indented by two spaces):\n")
	for _, p := range c.problems {
		if p.Severity == "warning" {
			continue
		}
		fmt.Fprintf(&b, "- %s\n", ProblemText(p))
	}
	b.WriteString("Fix every one and answer with the whole corrected JSON object (name, categories, flow).\n")
	return b.String()
}

// ProblemText says a validation problem in words an author and a model
// can act on: where (line, column, JSON pointer), what (Meta's code) and
// the message.
func ProblemText(p channel.FormProblem) string {
	var where []string
	if p.LineStart > 0 {
		where = append(where, fmt.Sprintf("line %d, column %d", p.LineStart, max(p.ColumnStart, 1)))
	}
	if p.Pointer != "" {
		where = append(where, p.Pointer)
	}
	loc := "the whole document"
	if len(where) > 0 {
		loc = strings.Join(where, ", ")
	}
	who := "Parley's validator"
	if p.Source == "meta" {
		who = "Meta"
	}
	code := p.Error
	if code == "" {
		code = "ERROR"
	}
	msg := strings.TrimSpace(p.Message)
	if msg == "" {
		msg = strings.ReplaceAll(strings.ToLower(code), "_", " ")
	}
	return fmt.Sprintf("%s: %s (%s, %s)", loc, msg, code, who)
}

// FormCheck is a WhatsApp Flow's problems, ours recomputed and Meta's
// from the last sync, each said in words.
type FormCheck struct {
	ID       string         `json:"wa_flow_id"`
	Valid    bool           `json:"valid"`
	Summary  string         `json:"summary"`
	Problems []CheckProblem `json:"problems"`
	SyncedAt *time.Time     `json:"synced_at"`
	// Instruction asks for the errors to be fixed, ready to send to
	// POST /ai/whatsapp-flows/{id}/update; empty when there are none.
	Instruction string `json:"instruction"`
}

// CheckProblem is one problem of a FormCheck.
type CheckProblem struct {
	Source   string `json:"source"`
	Severity string `json:"severity"`
	Code     string `json:"code"`
	Pointer  string `json:"pointer,omitempty"`
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
	Message  string `json:"message"`
	// Text is the sentence to show (and to give a model).
	Text string `json:"text"`
}

// CheckForm validates a stored WhatsApp Flow's JSON again (nothing is
// stored) and adds Meta's validation errors from the last sync. It calls
// no model, so it works without a provider.
func (s *Service) CheckForm(ctx context.Context, projectID, id string) (FormCheck, error) {
	if s.d.Forms == nil {
		return FormCheck{}, domain.Errorf(domain.CodeUnavailable, "this server was started without the WhatsApp Flows service")
	}
	f, err := s.d.Forms.Get(ctx, projectID, id)
	if err != nil {
		return FormCheck{}, err
	}
	ps := s.d.Forms.Validate([]byte(f.JSON))
	for i := range ps {
		ps[i].Source = "parley"
	}
	for _, p := range waflow.Problems(f) {
		if p.Source == "meta" {
			ps = append(ps, p)
		}
	}
	out := FormCheck{ID: f.ID, Problems: []CheckProblem{}, SyncedAt: f.SyncedAt}
	var ours, meta, warns int
	for _, p := range ps {
		sev := p.Severity
		if sev == "" {
			sev = "error"
		}
		switch {
		case sev == "warning":
			warns++
		case p.Source == "meta":
			meta++
		default:
			ours++
		}
		out.Problems = append(out.Problems, CheckProblem{Source: p.Source, Severity: sev, Code: p.Error, Pointer: p.Pointer, Line: p.LineStart, Column: p.ColumnStart,
			Message: p.Message, Text: ProblemText(p)})
	}
	out.Valid = ours+meta == 0
	if !out.Valid {
		var b strings.Builder
		b.WriteString("Fix these problems and change nothing else:\n")
		for _, p := range out.Problems {
			if p.Severity != "warning" {
				b.WriteString("- " + p.Text + "\n")
			}
		}
		out.Instruction = b.String()
	}
	switch {
	case out.Valid && warns == 0:
		out.Summary = "no problems: the Flow JSON is valid"
	case out.Valid:
		out.Summary = fmt.Sprintf("valid, with %d warnings", warns)
	default:
		out.Summary = fmt.Sprintf("%d errors (%d from Parley's validator, %d from Meta at the last sync) and %d warnings; a flow with errors cannot be published", ours+meta, ours, meta, warns)
	}
	if f.SyncedAt == nil && f.MetaFlowID == "" {
		out.Summary += " (never synced with Meta)"
	}
	return out, nil
}
