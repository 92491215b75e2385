package chatflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/flow"
	"github.com/parleyhq/parley/internal/store"
)

// Revision is a published, immutable snapshot of a flow.
type Revision struct {
	Flow        string    `json:"flow"`
	Revision    int       `json:"revision"`
	Live        bool      `json:"live" doc:"True for the revision new sessions start on"`
	PublishedBy string    `json:"published_by"`
	PublishedAt time.Time `json:"published_at"`
	Settings    Settings  `json:"settings"`
	// FlowData is left out of lists.
	FlowData *flow.Graph `json:"flow_data,omitempty"`
}

func revisionView(f store.Flow, v store.FlowRevision, withGraph bool) (Revision, error) {
	out := Revision{Flow: v.FlowID, Revision: v.Revision, Live: f.Status == store.FlowPublished && f.LiveRevision == v.Revision,
		PublishedBy: v.PublishedBy, PublishedAt: v.PublishedAt}
	if err := json.Unmarshal(v.Settings, &out.Settings); err != nil {
		return out, fmt.Errorf("decoding the settings of revision %d: %w", v.Revision, err)
	}
	if withGraph {
		g, err := decodeStored(v.Graph, fmt.Sprintf("graph of revision %d", v.Revision))
		if err != nil {
			return out, err
		}
		out.FlowData = &g
	}
	return out, nil
}

// Revisions lists a flow's revisions, newest first, with who published
// each and when.
func (s *Service) Revisions(ctx context.Context, projectID, flowID string, page store.Page) (store.List[Revision], error) {
	f, err := s.store.FlowGet(ctx, store.Ref{ProjectID: projectID, ID: flowID})
	if err != nil {
		return store.List[Revision]{}, err
	}
	l, err := s.store.FlowRevisionList(ctx, store.FlowRevisionListParams{ProjectID: projectID, FlowID: flowID, Page: page})
	if err != nil {
		return store.List[Revision]{}, err
	}
	out := store.List[Revision]{Items: make([]Revision, 0, len(l.Items)), Next: l.Next}
	for _, v := range l.Items {
		r, err := revisionView(f, v, false)
		if err != nil {
			return store.List[Revision]{}, err
		}
		out.Items = append(out.Items, r)
	}
	return out, nil
}

// Revision returns one revision with its graph.
func (s *Service) Revision(ctx context.Context, projectID, flowID string, revision int) (Revision, error) {
	f, err := s.store.FlowGet(ctx, store.Ref{ProjectID: projectID, ID: flowID})
	if err != nil {
		return Revision{}, err
	}
	v, err := s.store.FlowRevisionGet(ctx, store.FlowRevisionGetParams{ProjectID: projectID, FlowID: flowID, Revision: revision})
	if err != nil {
		return Revision{}, err
	}
	return revisionView(f, v, true)
}

// Restore makes a revision's graph and behaviour settings (logging,
// expiry, retrigger, start template) the working draft. The name, remark,
// channel and the live revision are left alone: restoring edits the draft,
// publishing makes it live.
func (s *Service) Restore(ctx context.Context, projectID, flowID string, revision int, actor string, version int) (Flow, error) {
	var out store.Flow
	err := s.store.InTx(ctx, func(q store.Queries) error {
		f, err := q.FlowGet(ctx, store.Ref{ProjectID: projectID, ID: flowID})
		if err != nil {
			return err
		}
		if version != 0 && version != f.Version {
			return s.stale(ctx, q, f, version)
		}
		v, err := q.FlowRevisionGet(ctx, store.FlowRevisionGetParams{ProjectID: projectID, FlowID: flowID, Revision: revision})
		if err != nil {
			return err
		}
		var set Settings
		if err := json.Unmarshal(v.Settings, &set); err != nil {
			return fmt.Errorf("decoding the settings of revision %d: %w", revision, err)
		}
		g, err := decodeStored(v.Graph, "revision graph")
		if err != nil {
			return err
		}
		draft, err := encodeGraph(g)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		p := store.FlowUpdateParams{ProjectID: projectID, ID: flowID, ExpectVersion: f.Version, Draft: draft, Trigger: encodeTrigger(triggerOf(g)),
			Logging: &set.Logging, StartTemplate: &set.StartTemplate, Actor: actor, Now: now}
		if set.ExpireAfterSeconds > 0 {
			p.ExpireAfterSeconds = &set.ExpireAfterSeconds
		}
		if set.OnRetrigger != "" {
			p.OnRetrigger = &set.OnRetrigger
		}
		if out, err = s.update(ctx, q, f, p); err != nil {
			return err
		}
		return s.audit(ctx, q, projectID, actor, "flow.restored", flowID, map[string]any{"revision": revision, "version": out.Version}, now)
	})
	if err != nil {
		return Flow{}, err
	}
	return s.view(ctx, newEnv(s.store, projectID), out)
}

// Export returns a flow as a self-contained document: the draft, or with
// revision > 0 that published revision.
func (s *Service) Export(ctx context.Context, projectID, flowID string, revision int) ([]byte, error) {
	f, err := s.store.FlowGet(ctx, store.Ref{ProjectID: projectID, ID: flowID})
	if err != nil {
		return nil, err
	}
	graph, set := f.Draft, settingsOf(f)
	if revision > 0 {
		v, err := s.store.FlowRevisionGet(ctx, store.FlowRevisionGetParams{ProjectID: projectID, FlowID: flowID, Revision: revision})
		if err != nil {
			return nil, err
		}
		graph = v.Graph
		if err := json.Unmarshal(v.Settings, &set); err != nil {
			return nil, fmt.Errorf("decoding the settings of revision %d: %w", revision, err)
		}
	}
	g, err := decodeStored(graph, "flow graph")
	if err != nil {
		return nil, err
	}
	return flow.Export(flow.Document{Flow: flow.Settings{Name: set.Name, Remark: set.Remark, Trigger: set.Trigger, Logging: set.Logging,
		ExpireAfterSeconds: set.ExpireAfterSeconds, OnRetrigger: set.OnRetrigger, StartTemplate: set.StartTemplate}, FlowData: g})
}

// ImportInput imports a document as a new draft flow.
type ImportInput struct {
	// Document is a parley.flow export, a chat-flow API flow object or a
	// bare {nodes, edges} graph.
	Document []byte
	// Name overrides the document's name.
	Name string
}

// Import creates a new draft flow from a document. A document that cannot
// be read as a flow is CodeInvalid with the JSON pointer of the problem;
// lint problems do not stop the import, they come back as the draft's
// problems.
func (s *Service) Import(ctx context.Context, projectID, actor string, in ImportInput) (Flow, error) {
	if len(in.Document) > MaxFlowDataBytes+64<<10 {
		return Flow{}, domain.Errorf(domain.CodeTooLarge, "the document is %d bytes; flows are limited to 2 MB of flow_data", len(in.Document))
	}
	doc, err := flow.Import(in.Document)
	if err != nil {
		var de *flow.DecodeError
		if errors.As(err, &de) {
			return Flow{}, &domain.Error{Code: domain.CodeInvalid, Message: "the document cannot be imported: " + de.Error(),
				Fields: []domain.FieldError{{Pointer: de.Pointer, Code: "malformed", Message: de.Msg}}}
		}
		return Flow{}, err
	}
	if len(doc.FlowData.Nodes) > MaxNodes {
		return Flow{}, &domain.Error{Code: domain.CodeTooLarge, Message: fmt.Sprintf("the document has %d nodes; the limit is %d — split it into subflows", len(doc.FlowData.Nodes), MaxNodes),
			Fields: []domain.FieldError{{Pointer: "/flow_data/nodes", Code: flow.CodeTooManyNodes, Message: "too many nodes"}}}
	}
	raw, err := encodeGraph(doc.FlowData)
	if err != nil {
		return Flow{}, err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = strings.TrimSpace(doc.Flow.Name)
	}
	if name == "" {
		name = "Imported flow"
	}
	in2 := CreateInput{Name: name, Remark: doc.Flow.Remark, StartTemplate: doc.Flow.StartTemplate, FlowData: raw,
		Logging: &doc.Flow.Logging, OnRetrigger: doc.Flow.OnRetrigger}
	if doc.Flow.ExpireAfterSeconds > 0 {
		in2.ExpireAfterSeconds = &doc.Flow.ExpireAfterSeconds
	}
	return s.Create(ctx, projectID, actor, in2)
}

// Templates returns the built-in flow templates.
func (s *Service) Templates() ([]flow.BuiltinTemplate, error) { return flow.Templates() }

// FromTemplateInput creates a flow from a built-in template.
type FromTemplateInput struct {
	Template string
	// Name defaults to the template's name.
	Name      string
	ChannelID string
	IsActive  bool
}

// CreateFromTemplate creates a flow from a built-in template.
func (s *Service) CreateFromTemplate(ctx context.Context, projectID, actor string, in FromTemplateInput) (Flow, error) {
	t, ok := flow.Template(in.Template)
	if !ok {
		all, _ := flow.Templates()
		ids := make([]string, len(all))
		for i, t := range all {
			ids[i] = t.ID
		}
		return Flow{}, domain.Invalid("/template", "there is no built-in template %q; use one of %s (GET /chat-flow/templates/)", in.Template, strings.Join(ids, ", "))
	}
	raw, err := encodeGraph(t.Graph)
	if err != nil {
		return Flow{}, err
	}
	name := in.Name
	if strings.TrimSpace(name) == "" {
		name = t.Name
	}
	return s.Create(ctx, projectID, actor, CreateInput{Name: name, Remark: t.Description, FlowData: raw, ChannelID: in.ChannelID, IsActive: in.IsActive})
}

// Validation is the linter's verdict on a graph.
type Validation struct {
	// Valid is true when nothing blocks publishing.
	Valid    bool           `json:"valid"`
	Errors   int            `json:"errors"`
	Warnings int            `json:"warnings"`
	Problems []flow.Problem `json:"problems"`
}

// Validate lints the flow's draft, or the given flow_data instead of it,
// with the project's templates and flows, without saving anything.
func (s *Service) Validate(ctx context.Context, projectID, flowID string, flowData json.RawMessage, startTemplate *string) (Validation, error) {
	f, err := s.store.FlowGet(ctx, store.Ref{ProjectID: projectID, ID: flowID})
	if err != nil {
		return Validation{}, err
	}
	var g flow.Graph
	if flowData != nil {
		g, err = decodeInput(flowData, "/flow_data")
	} else {
		g, err = decodeStored(f.Draft, "flow_data of flow "+f.ID)
	}
	if err != nil {
		return Validation{}, err
	}
	tpl := f.StartTemplate
	if startTemplate != nil {
		tpl = *startTemplate
	}
	env := newEnv(s.store, projectID)
	if err := env.load(ctx, g, tpl); err != nil {
		return Validation{}, err
	}
	cps, err := s.channelProblems(ctx, s.store, projectID, f.ChannelID, g)
	if err != nil {
		return Validation{}, err
	}
	out := Validation{Problems: append(lint(g, env, tpl), cps...)}
	for _, p := range out.Problems {
		if p.Severity == flow.SeverityError {
			out.Errors++
		} else {
			out.Warnings++
		}
	}
	out.Valid = out.Errors == 0
	return out, nil
}
