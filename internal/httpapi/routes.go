package httpapi

import (
	"context"
	"net/http"

	"github.com/parleyhq/parley/internal/waflow"

	"github.com/danielgtaylor/huma/v2"
)

// Access is what a caller needs to reach a route.
type Access int

// The access levels. Viewer, Editor and Owner need a project scope with at
// least that role; Authenticated needs any login or token; User needs a
// logged-in person (not an API token).
const (
	Public Access = iota
	Authenticated
	User
	Viewer
	Editor
	Owner
)

func (a Access) String() string {
	return [...]string{"public", "authenticated", "user", "viewer", "editor", "owner"}[a]
}

// Route is one entry of the route table: an API operation (registered with
// huma, so it is in the OpenAPI document) or a raw handler (webhooks,
// health, static files).
type Route struct {
	Method  string
	Path    string
	ID      string
	Summary string
	Tag     string
	Access  Access
	// MaxBodyBytes overrides the server's default body limit.
	MaxBodyBytes int64
	// Status is the success status when it is not 200.
	Status int

	register func(api huma.API, op huma.Operation)
	raw      http.Handler
}

// Routes returns the route table, for tests that must cover every route.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// op makes a table entry for a huma handler.
func op[I, O any](method, path, id, summary, tag string, access Access, h func(context.Context, *I) (*O, error)) Route {
	return Route{Method: method, Path: path, ID: id, Summary: summary, Tag: tag, Access: access,
		register: func(api huma.API, o huma.Operation) { huma.Register(api, o, h) }}
}

// raw makes a table entry for a plain handler.
func raw(method, path, id, summary string, access Access, h http.Handler) Route {
	return Route{Method: method, Path: path, ID: id, Summary: summary, Access: access, raw: h}
}

func (r Route) with(f func(*Route)) Route { f(&r); return r }

// routeTable is THE route table: every route Parley serves is here.
func (s *Server) routeTable() []Route {
	get, post, put, del := http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	ra := &runtimeAPI{s: s}
	aa := aiAPI{s: s}
	fa := s.newFlowAPI()
	big := func(r *Route) { r.MaxBodyBytes = flowBodyLimit }
	routes := []Route{
		// Operations and health.
		raw(get, "/healthz", "healthz", "Liveness: the process is up", Public, http.HandlerFunc(s.healthz)),
		raw(get, "/readyz", "readyz", "Readiness: the database answers", Public, http.HandlerFunc(s.readyz)),
		raw(get, "/metrics", "metrics", "Prometheus metrics (Authorization: Bearer <PARLEY_METRICS_TOKEN> when that is set)", Public, s.metricsHandler()),
		raw(get, "/docs", "docs", "API reference page", Public, http.HandlerFunc(s.docsPage)),
		raw(get, "/favicon.ico", "favicon", "The site icon", Public, http.HandlerFunc(s.faviconHandler)),
		raw(get, "/app/", "app", "The web UI", Public, s.appHandler()),
		raw("", "/", "root", "Redirects to the web UI; anything else is 404", Public, http.HandlerFunc(s.root)),

		// Web login.
		op(post, "/auth/login", "login", "Log in with email and password; sets the session cookie", "auth", Public, s.login),
		op(post, "/auth/logout", "logout", "Log out: ends the session", "auth", Authenticated, s.logout),
		op(get, "/auth/me", "me", "Who the caller is, their projects and the current project", "auth", Authenticated, s.me),
		op(post, "/auth/project", "switch-project", "Switch the web session to another project", "auth", User, s.switchProject),

		// Invitations, from the side of the invited (the link's token is the credential).
		op(post, "/invitations/lookup", "lookup-invitation", "What an invitation link is for: project, e-mail and role", "auth", Public, s.invitationLookup),
		op(post, "/invitations/accept", "accept-invitation", "Join the invitation's project as the logged-in user (who must be the invited address)", "auth", User, s.invitationAccept),
		op(post, "/invitations/register", "register-invitation", "Create the invited address's account with a password and join; an existing account must log in and accept instead", "auth", Public, s.invitationRegister),

		// Projects and members.
		op(get, "/projects/", "list-projects", "List the projects the caller can access", "projects", Authenticated, s.projectList),
		op(post, "/projects/", "create-project", "Create a project (the caller becomes its owner)", "projects", User, s.projectCreate).with(created),
		op(get, "/projects/{project_id}/", "get-project", "Get a project", "projects", Viewer, s.projectGet),
		op(put, "/projects/{project_id}/", "update-project", "Rename a project or change its settings", "projects", Owner, s.projectUpdate),
		op(get, "/projects/{project_id}/members/", "list-members", "List a project's members", "projects", Viewer, s.memberList),
		op(post, "/projects/{project_id}/members/", "invite-member", "Invite an e-mail address with a role; the answer holds the accept link, shown once", "projects", Owner, s.memberInvite).with(created),
		op(put, "/projects/{project_id}/members/{user_id}/", "set-member-role", "Change a member's role", "projects", Owner, s.memberSetRole),
		op(get, "/projects/{project_id}/invitations/", "list-invitations", "The project's pending invitations", "projects", Owner, s.invitationList),
		op(del, "/projects/{project_id}/invitations/{invitation_id}/", "withdraw-invitation", "Withdraw a pending invitation: its link stops working", "projects", Owner, s.invitationWithdraw).with(noContent),
		op(del, "/projects/{project_id}/members/{user_id}/", "remove-member", "Remove a user from the project", "projects", Owner, s.memberRemove).with(noContent),
		op(get, "/audit/", "list-audit", "The project's audit log", "projects", Viewer, s.auditList),

		// API tokens.
		op(get, "/tokens/", "list-tokens", "List the project's API tokens (never their secrets)", "tokens", Owner, s.tokenList),
		op(post, "/tokens/", "create-token", "Create an API token; the secret is shown once", "tokens", Owner, s.tokenCreate).with(created),
		op(get, "/tokens/{token_id}/", "get-token", "Get an API token", "tokens", Owner, s.tokenGet),
		op(del, "/tokens/{token_id}/", "revoke-token", "Revoke an API token", "tokens", Owner, s.tokenRevoke),

		// AI: providers and generation (docs/ai.md). Nothing generated is saved.
		op(get, "/ai/providers/", "list-ai-providers", "List the project's LLM providers (the first is the default); API keys are never returned", "ai", Viewer, aa.list),
		op(post, "/ai/providers/", "create-ai-provider", "Add an OpenAI-compatible LLM provider (OpenAI, Ollama, llama.cpp server, vLLM)", "ai", Owner, aa.create).with(created),
		op(get, "/ai/providers/{provider_id}/", "get-ai-provider", "Get an LLM provider", "ai", Viewer, aa.get),
		op(put, "/ai/providers/{provider_id}/", "update-ai-provider", "Change an LLM provider; an absent api_key keeps the stored one", "ai", Owner, aa.update),
		op(del, "/ai/providers/{provider_id}/", "delete-ai-provider", "Remove an LLM provider", "ai", Owner, aa.remove).with(noContent),
		op(get, "/ai/providers/{provider_id}/check", "check-ai-provider", "Say what works with a provider: reachable, model served, JSON mode, streaming", "ai", Editor, aa.check),
		op(post, "/ai/flows/generate", "generate-flow", "Generate a chat-flow draft from a description or outline; streams progress and the draft as server-sent events; saves nothing", "ai", Editor, aa.generate),
		op(post, "/ai/flows/{flow_id}/edit", "edit-flow-with-ai", "Propose a change to a flow's draft from an instruction (an edit script applied, linted, with its diff); streams progress and the proposal as server-sent events; saves nothing — apply with PUT /chat-flow/flows/{flow_id}/ and base_version", "ai", Editor, aa.edit),
		op(post, "/ai/whatsapp-flows/generate", "generate-whatsapp-flow", "Generate a WhatsApp Flow from a description (latest Flow JSON version, validated and repaired); streams progress and the result; a valid one is saved as a draft, not sent to Meta", "ai", Editor, aa.formGenerate),
		op(post, "/ai/whatsapp-flows/{wa_flow_id}/update", "update-whatsapp-flow-with-ai", "Change a WhatsApp Flow by an instruction (validated and repaired; keeps its Meta Flow ID); streams progress and the result; saved as a draft when valid, not sent to Meta", "ai", Editor, aa.formUpdate),
		op(post, "/ai/whatsapp-flows/{wa_flow_id}/check", "check-whatsapp-flow-for-ai", "A WhatsApp Flow's problems, Parley's validator's (recomputed) and Meta's (last sync), in words an author or a model can act on; stores nothing, needs no provider", "ai", Editor, aa.formCheck),

		// Chat flows (docs/api.md). Viewers read, editors write.
		op(get, "/chat-flow/flows/", "list-flows", "List flows (filter by status, channel, name; paginated)", "chat-flow", Viewer, fa.list),
		op(post, "/chat-flow/flows/", "create-flow", "Create a flow; with is_active true, create and publish it in one call", "chat-flow", Editor, fa.create).with(created).with(big),
		op(post, "/chat-flow/flows/import/", "import-flow", "Import a flow document as a new draft", "chat-flow", Editor, fa.importFlow).with(created).with(big),
		op(post, "/chat-flow/flows/from-template/", "create-flow-from-template", "Create a flow from a built-in template", "chat-flow", Editor, fa.fromTemplate).with(created),
		op(get, "/chat-flow/flows/{flow_id}/", "get-flow", "Get a flow with its draft's lint problems", "chat-flow", Viewer, fa.get),
		op(put, "/chat-flow/flows/{flow_id}/", "update-flow", "Save the draft and settings (If-Match or version required); is_active publishes or unpublishes", "chat-flow", Editor, fa.update).with(big),
		op(del, "/chat-flow/flows/{flow_id}/", "delete-flow", "Delete a flow that is not published", "chat-flow", Editor, fa.remove).with(noContent),
		op(post, "/chat-flow/flows/{flow_id}/publish/", "publish-flow", "Lint the draft and make it the live revision", "chat-flow", Editor, fa.publish),
		op(post, "/chat-flow/flows/{flow_id}/unpublish/", "unpublish-flow", "Stop new sessions from starting", "chat-flow", Editor, fa.unpublish),
		op(post, "/chat-flow/flows/{flow_id}/validate/", "validate-flow", "Lint the draft (or a given flow_data) without saving", "chat-flow", Viewer, fa.validate).with(big),
		op(get, "/chat-flow/flows/{flow_id}/export/", "export-flow", "Export the flow (or a revision) as a self-contained document", "chat-flow", Viewer, fa.export),
		op(post, "/chat-flow/flows/{flow_id}/export/", "export-flow-post", "Export the flow (POST form of GET .../export/)", "chat-flow", Viewer, fa.export),
		op(get, "/chat-flow/flows/{flow_id}/revisions/", "list-flow-revisions", "List published revisions, newest first", "chat-flow", Viewer, fa.revisions),
		op(get, "/chat-flow/flows/{flow_id}/revisions/{revision}/", "get-flow-revision", "Get a published revision with its graph", "chat-flow", Viewer, fa.revision),
		op(post, "/chat-flow/flows/{flow_id}/revisions/{revision}/restore/", "restore-flow-revision", "Make a revision's graph the working draft", "chat-flow", Editor, fa.restore),
		op(get, "/chat-flow/nodes/", "list-flow-nodes", "List the nodes of a flow's draft (?flow=)", "chat-flow", Viewer, fa.nodeList),
		op(post, "/chat-flow/nodes/", "create-flow-node", "Add a node to a flow's draft", "chat-flow", Editor, fa.nodeCreate).with(created),
		op(get, "/chat-flow/nodes/{node_id}/", "get-flow-node", "Get a node (ID <flow_id>:<node_id>)", "chat-flow", Viewer, fa.nodeGet),
		op(put, "/chat-flow/nodes/{node_id}/", "update-flow-node", "Change a node's type, position or data", "chat-flow", Editor, fa.nodeUpdate),
		op(del, "/chat-flow/nodes/{node_id}/", "delete-flow-node", "Delete a node and its edges", "chat-flow", Editor, fa.nodeDelete).with(noContent),
		op(get, "/chat-flow/edges/", "list-flow-edges", "List the edges of a flow's draft (?flow=)", "chat-flow", Viewer, fa.edgeList),
		op(post, "/chat-flow/edges/", "create-flow-edge", "Connect two nodes: {source_node, target_node, trigger, trigger_value} or ReactFlow fields", "chat-flow", Editor, fa.edgeCreate).with(created),
		op(get, "/chat-flow/edges/{edge_id}/", "get-flow-edge", "Get an edge (ID <flow_id>:<edge_id>)", "chat-flow", Viewer, fa.edgeGet),
		op(put, "/chat-flow/edges/{edge_id}/", "update-flow-edge", "Change an edge's target, trigger, handles, label or data", "chat-flow", Editor, fa.edgeUpdate),
		op(del, "/chat-flow/edges/{edge_id}/", "delete-flow-edge", "Delete an edge", "chat-flow", Editor, fa.edgeDelete).with(noContent),
		op(get, "/chat-flow/analytics/", "flow-analytics", "Execution analytics: sessions, per-node visits and drop-offs, per-edge transitions", "chat-flow", Viewer, fa.analytics),
		op(get, "/chat-flow/templates/", "list-flow-templates", "The built-in flow templates", "chat-flow", Viewer, fa.templates),
		op(get, "/chat-flow/node-types/", "list-node-types", "The node types with their fields and exits, for the editor's palette", "chat-flow", Viewer, fa.nodeTypes),
		op(post, "/chat-flow/code-test/", "test-code", "Run a code node's script once with sample input, on the same script runner and limits as the engine", "chat-flow", Editor, ra.codeTest),
		op(post, "/chat-flow/http-test/", "test-http-request", "Make an http_request node's call once (templates rendered with sample variables), through the same guarded client", "chat-flow", Editor, ra.httpTest),
		op(post, "/chat-flow/flows/{flow_id}/start/", "start-flow", "Start the flow for a contact (by contact_id or phone) on a channel; honours Idempotency-Key", "chat-flow", Editor, ra.flowStart),

		// Contacts, conversations and sessions.
		op(get, "/contacts/", "list-contacts", "Search contacts by name or phone, or by tag", "contacts", Viewer, ra.contactList),
		op(get, "/contacts/{contact_id}/", "get-contact", "A contact with its addresses and current session", "contacts", Viewer, ra.contactGet),
		op(put, "/contacts/{contact_id}/", "update-contact", "Edit a contact's name, fields, tags, opt-out or assignee", "contacts", Editor, ra.contactUpdate),
		op(post, "/contacts/{contact_id}/merge/", "merge-contact", "Merge another contact (the same person on another channel) into this one: one contact, one timeline", "contacts", Editor, ra.contactMerge),
		op(post, "/contacts/{contact_id}/release/", "release-contact", "Release a handoff: the bot takes the conversation back", "contacts", Editor, ra.contactRelease),
		op(get, "/projects/{project_id}/calls/{call_id}/recording", "get-call-recording", "A recorded voice call's audio (audio/wav or audio/mpeg; Range requests work): the URL in a call's recording_url", "contacts", Viewer, ra.callRecording),
		op(get, "/conversations/{contact_id}/messages/", "list-messages", "A contact's messages with their statuses, newest first", "contacts", Viewer, ra.conversation),
		op(post, "/conversations/{contact_id}/messages/", "send-message", "Reply as a person (an agent) in the conversation", "contacts", Editor, ra.agentSend).with(created),
		op(get, "/sessions/", "list-sessions", "List sessions, by contact, flow or status", "sessions", Viewer, ra.sessionList),
		op(get, "/sessions/{session_id}/", "get-session", "A session with its path, variables, messages and trace", "sessions", Viewer, ra.sessionGet),
		op(post, "/sessions/{session_id}/interrupt/", "interrupt-session", "Stop a session", "sessions", Editor, ra.sessionInterrupt),

		// The simulator: the real runner and engine, no channel, no analytics.
		op(post, "/simulator/sessions/", "start-simulation", "Simulate a flow (draft or live) for a made-up contact", "simulator", Editor, ra.simStart).with(created),
		op(get, "/simulator/sessions/{session_id}/", "get-simulation", "A simulated session: messages, what it waits for, trace", "simulator", Viewer, ra.simGet),
		op(post, "/simulator/sessions/{session_id}/messages/", "simulate-message", "Say something as the contact: text, button, list_reply or flow_response", "simulator", Editor, ra.simMessage),
		op(post, "/simulator/sessions/{session_id}/timeout/", "simulate-timeout", "Fire the pending timer now", "simulator", Editor, ra.simTimeout),
		op(get, "/simulator/sessions/{session_id}/call/", "get-simulated-call", "The simulated session's call, as its callee hears it: events after a cursor (long polling with wait_ms), status, result", "simulator", Editor, ra.simCallGet),
		op(post, "/simulator/sessions/{session_id}/call/lines/", "say-simulated-call", "Say a line as the callee of the simulated session's call", "simulator", Editor, ra.simCallLine),
		op(post, "/simulator/sessions/{session_id}/call/hangup/", "hang-up-simulated-call", "Hang up the simulated session's call as its callee", "simulator", Editor, ra.simCallHangup),

		// WhatsApp Flows (forms), synced to Meta through the channel's forms capability.
		op(get, "/whatsapp-flows/", "list-whatsapp-flows", "List WhatsApp Flows (forms) with their status", "whatsapp-flows", Viewer, ra.waFlowList),
		op(post, "/whatsapp-flows/", "create-whatsapp-flow", "Create a WhatsApp Flow from Flow JSON or a built-in template (and at Meta when a channel is given)", "whatsapp-flows", Editor, ra.waFlowCreate).with(created).with(big),
		op(get, "/whatsapp-flows/templates/", "list-whatsapp-flow-templates", "The built-in form templates", "whatsapp-flows", Viewer, ra.waFlowTemplates),
		op(post, "/whatsapp-flows/validate/", "validate-whatsapp-flow-json", "Validate Flow JSON without storing it", "whatsapp-flows", Viewer, ra.waFlowValidate).with(big),
		op(get, "/whatsapp-flows/{wa_flow_id}/", "get-whatsapp-flow", "Get a WhatsApp Flow", "whatsapp-flows", Viewer, ra.waFlowGet),
		op(put, "/whatsapp-flows/{wa_flow_id}/", "update-whatsapp-flow", "Change a WhatsApp Flow; a published flow returns to DRAFT", "whatsapp-flows", Editor, ra.waFlowUpdate).with(big),
		op(del, "/whatsapp-flows/{wa_flow_id}/", "delete-whatsapp-flow", "Delete a draft WhatsApp Flow (here and at Meta); 409 for others", "whatsapp-flows", Editor, ra.waFlowDelete).with(noContent),
		op(post, "/whatsapp-flows/{wa_flow_id}/check/", "check-whatsapp-flow", "Validate a WhatsApp Flow's JSON again and store the verdict", "whatsapp-flows", Editor, ra.waFlowAction((*waflow.Service).Check)),
		op(post, "/whatsapp-flows/{wa_flow_id}/publish/", "publish-whatsapp-flow", "Publish a valid draft at Meta", "whatsapp-flows", Editor, ra.waFlowAction((*waflow.Service).Publish)),
		op(post, "/whatsapp-flows/{wa_flow_id}/deprecate/", "deprecate-whatsapp-flow", "Deprecate a published WhatsApp Flow", "whatsapp-flows", Editor, ra.waFlowAction((*waflow.Service).Deprecate)),
		op(post, "/whatsapp-flows/{wa_flow_id}/sync/", "sync-whatsapp-flow", "Push a flow Meta does not know yet and pull Meta's status, errors and preview", "whatsapp-flows", Editor, ra.waFlowAction((*waflow.Service).Sync)),
		op(post, "/whatsapp-flows/keys/", "create-whatsapp-flow-keys", "Generate a WhatsApp number's endpoint key pair and upload the public key to Meta (whatsapp_business_encryption)", "whatsapp-flows", Editor, ra.waFlowKeys).with(created),
		raw(post, "/whatsapp-flows/{wa_flow_id}/endpoint", "whatsapp-flow-endpoint", "The data-exchange endpoint Meta calls for a WhatsApp Flow (encrypted; signed with the app secret)", Public, http.HandlerFunc(s.waFlowEndpoint)),
		op(post, "/whatsapp-flows/{wa_flow_id}/clone/", "clone-whatsapp-flow", "Copy a WhatsApp Flow into a new draft", "whatsapp-flows", Editor, ra.waFlowClone).with(created),

		// Message templates (WhatsApp).
		op(get, "/templates/", "list-templates", "List message templates with their Meta status", "templates", Viewer, ra.templateList),
		op(post, "/templates/", "create-template", "Validate a template and submit it to Meta for review", "templates", Editor, ra.templateCreate).with(created),
		op(post, "/templates/sync/", "sync-templates", "Pull the templates and their statuses from Meta", "templates", Editor, ra.templateSync),
		op(get, "/templates/{template_id}/", "get-template", "Get a message template", "templates", Viewer, ra.templateGet),
		op(put, "/templates/{template_id}/", "update-template", "Change a template's components (Meta reviews it again)", "templates", Editor, ra.templateUpdate),
		op(del, "/templates/{template_id}/", "delete-template", "Delete a template here and at Meta", "templates", Editor, ra.templateDelete).with(noContent),
		op(post, "/templates/{template_id}/send/", "send-template", "Send an approved template; starts the flow whose start_template it is", "templates", Editor, ra.templateSend),

		// Channels.
		op(get, "/channel-types/", "list-channel-types", "The channel types of this server and their configuration fields", "channels", Viewer, ra.channelTypes),
		op(get, "/channels/", "list-channels", "List the project's channels (secrets masked)", "channels", Viewer, ra.channelList),
		op(post, "/channels/", "create-channel", "Connect a channel: a WhatsApp number or the web chat", "channels", Owner, ra.channelCreate).with(created),
		op(get, "/channels/{channel_id}/", "get-channel", "Get a channel and its webhook URL", "channels", Viewer, ra.channelGet),
		op(put, "/channels/{channel_id}/", "update-channel", "Rename a channel or change its config (masked secrets are kept)", "channels", Owner, ra.channelUpdate),
		op(del, "/channels/{channel_id}/", "delete-channel", "Remove a channel no published flow is bound to", "channels", Owner, ra.channelDelete).with(noContent),
		op(post, "/channels/{channel_id}/check/", "check-channel", "Call the provider to confirm the credentials, step by step", "channels", Editor, ra.channelCheck),
		op(get, "/channels/{channel_id}/logs/", "list-channel-logs", "The channel log: calls to the provider and webhooks received, redacted, newest first (filter by message_id, kind, errors)", "channels", Viewer, ra.channelLogList),
		op(get, "/channels/{channel_id}/dead-letters/", "list-dead-letters", "Webhooks that were authentic but could not be processed, newest first", "channels", Viewer, ra.deadLetterList),
		op(post, "/channels/{channel_id}/dead-letters/{dead_letter_id}/replay", "replay-dead-letter", "Run a dead letter through the webhook ingest again and record the outcome", "channels", Editor, ra.deadLetterReplay),

		// The sandbox's customer side (`serve --sandbox` only; sandbox channels only; no secret leaves the server).
		op(get, "/sandbox/channels/", "list-sandbox-channels", "The channels connected to the sandbox's fake WhatsApp (serve --sandbox)", "sandbox", Public, s.sandboxChannels),
		op(post, "/sandbox/messages/", "send-sandbox-message", "Play the customer: the server signs and posts an inbound webhook to a sandbox channel", "sandbox", Public, s.sandboxSend).with(created),
		op(post, "/sandbox/notices/", "send-sandbox-notice", "Play Meta: the server signs and posts a quality or account notice webhook (phone_number_quality_update, account_update) about a sandbox WhatsApp channel", "sandbox", Public, s.sandboxNotice).with(created),
		op(get, "/sandbox/replies/", "list-sandbox-replies", "What a sandbox channel sent to a customer, as their phone shows it", "sandbox", Public, s.sandboxReplies),
		op(post, "/sandbox/calls/", "create-sandbox-call", "Be the callee: the next call from a sandbox voice number to a number is answered by you (and a flow may be started to place it)", "sandbox", Public, s.sandboxCall).with(created),
		op(post, "/sandbox/calls/inbound/", "create-sandbox-inbound-call", "Be the caller: a scripted caller calls the sandbox Twilio number through the fake Twilio (the signed incoming-call webhook), answered by a waiting session or a flow with the inbound_call trigger", "sandbox", Public, s.sandboxInboundCall).with(created),
		op(get, "/sandbox/calls/{id}/", "get-sandbox-call", "A sandbox call as its callee hears it: events after a cursor (long polling with wait_ms), status, result", "sandbox", Public, s.sandboxCallGet),
		op(post, "/sandbox/calls/{id}/lines/", "say-sandbox-call", "Say a line as the callee of a sandbox call", "sandbox", Public, s.sandboxCallLine),
		op(post, "/sandbox/calls/{id}/hangup/", "hang-up-sandbox-call", "Hang up a sandbox call as its callee", "sandbox", Public, s.sandboxCallHangup),
		// Campaign reports and live progress (the campaigns themselves: campaigns.go).
		op(get, "/campaigns/{campaign_id}/report/", "campaign-report", "The campaign's report: per channel sent/delivered/read/failed by reason and response rate, per-template performance, flow outcomes, per-node funnel, hourly series", "campaigns", Viewer, ra.campaignReport),
		op(get, "/campaigns/{campaign_id}/report/recipients.csv", "campaign-recipients-csv", "Every row of the campaign's datasets with its outcome, as CSV (cells escaped against formula injection)", "campaigns", Viewer, ra.campaignRecipientsCSV),
		op(get, "/campaigns/{campaign_id}/executions/{execution_id}/events", "execution-events", "Server-sent events: the execution with its counts, rate and ETA whenever they change; ends when the execution finishes", "campaigns", Viewer, ra.executionEvents),

		// The web chat widget's public endpoints (webchat.go).
		raw(get, "/webchat/widget.js", "webchat-widget", "The web chat widget: <script src=\".../webchat/widget.js\" data-channel=\"CHANNEL_ID\">", Public, http.HandlerFunc(s.webchatWidget)),
		raw(get, "/webchat/{channel_id}/test", "webchat-test-page", "A page with the channel's widget, to try it", Public, http.HandlerFunc(s.webchatTestPage)),
		raw(http.MethodOptions, "/webchat/{channel_id}/{endpoint}", "webchat-preflight", "CORS preflight of the widget's calls (the channel's allowed origins)", Public, http.HandlerFunc(s.webchatPreflight)),
		raw(post, "/webchat/{channel_id}/visitors", "webchat-new-visitor", "A new visitor: the token the widget presents on its calls", Public, http.HandlerFunc(s.webchatNewVisitor)),
		raw(post, "/webchat/{channel_id}/messages", "webchat-send", "Say something as the visitor: {id, text} or {id, button} or {id, list_reply: {id, title}}", Public, http.HandlerFunc(s.webchatSend)),
		raw(get, "/webchat/{channel_id}/stream", "webchat-stream", "The visitor's conversation as server-sent events: history, new messages, typing", Public, http.HandlerFunc(s.webchatStream)),
	}
	// Datasets and campaigns (campaigns.go), when their services are given
	// (tests of the account API leave them out).
	if s.deps.Datasets != nil && s.deps.Campaigns != nil {
		a := &campaignAPI{s: s}
		upload := func(r *Route) { r.MaxBodyBytes = datasetBodyLimit; r.Status = http.StatusAccepted }
		accepted := func(r *Route) { r.Status = http.StatusAccepted }
		routes = append(routes,
			op(post, "/datasets/", "upload-dataset", "Upload a CSV (multipart: file, name, mapping JSON or phone_column/default_country); processed in the background", "campaigns", Editor, a.datasetUpload).with(upload),
			op(get, "/datasets/", "list-datasets", "List datasets, newest first", "campaigns", Viewer, a.datasetList),
			op(get, "/datasets/{dataset_id}/", "get-dataset", "A dataset: status, counts per outcome, mapping and the first rows with normalised phones", "campaigns", Viewer, a.datasetGet),
			op(put, "/datasets/{dataset_id}/mapping", "map-dataset", "Replace the mapping and re-process every row", "campaigns", Editor, a.datasetMapping).with(accepted),
			op(get, "/datasets/{dataset_id}/rows/", "list-dataset-rows", "A dataset's rows with their outcomes, in order (?status=)", "campaigns", Viewer, a.datasetRows),
			op(get, "/datasets/{dataset_id}/report.csv", "dataset-report", "Every row with its outcome as CSV (cells escaped against formula injection)", "campaigns", Viewer, a.datasetReport),
			op(del, "/datasets/{dataset_id}/", "delete-dataset", "Delete a dataset no running execution uses", "campaigns", Editor, a.datasetDelete).with(noContent),

			op(get, "/campaigns/", "list-campaigns", "List campaigns with their status", "campaigns", Viewer, a.campaignList),
			op(post, "/campaigns/", "create-campaign", "Create a draft campaign", "campaigns", Editor, a.campaignCreate).with(created),
			op(get, "/campaigns/{campaign_id}/", "get-campaign", "Get a campaign", "campaigns", Viewer, a.campaignGet),
			op(put, "/campaigns/{campaign_id}/", "update-campaign", "Change a campaign (version required)", "campaigns", Editor, a.campaignUpdate),
			op(del, "/campaigns/{campaign_id}/", "delete-campaign", "Delete a campaign that is not running", "campaigns", Editor, a.campaignDelete).with(noContent),
			op(get, "/campaigns/{campaign_id}/checklist/", "campaign-checklist", "The pre-flight checks, each with how to fix it", "campaigns", Viewer, a.campaignChecklist),
			op(post, "/campaigns/{campaign_id}/executions/", "start-campaign-execution", "Start the campaign over a dataset (409 with the failed checks)", "campaigns", Editor, a.executionCreate).with(created),
			op(get, "/campaigns/{campaign_id}/executions/", "list-campaign-executions", "A campaign's executions, newest first", "campaigns", Viewer, a.executionList),
			op(get, "/campaigns/{campaign_id}/executions/{execution_id}/", "get-campaign-execution", "An execution with its live counts, rate and ETA", "campaigns", Viewer, a.executionGet),
			op(post, "/campaigns/{campaign_id}/executions/{execution_id}/pause", "pause-campaign-execution", "Start no new rows; in-flight sends finish", "campaigns", Editor, a.executionPause),
			op(post, "/campaigns/{campaign_id}/executions/{execution_id}/resume", "resume-campaign-execution", "Resume a paused execution", "campaigns", Editor, a.executionResume),
			op(post, "/campaigns/{campaign_id}/executions/{execution_id}/stop", "stop-campaign-execution", "Stop: rows not started stay queued for a later execution", "campaigns", Editor, a.executionStop),
		)
	}
	routes = append(routes, s.projectDataRoutes()...)
	// Event webhooks (eventhooks.go, docs/webhooks.md): under their own
	// prefixes, apart from the providers' /webhooks/{type}/….
	if s.deps.EventHooks != nil {
		h := eventHookAPI{s: s}
		routes = append(routes,
			op(get, "/event-types/", "list-event-types", "The events a webhook subscription can ask for", "event-webhooks", Viewer, h.types),
			op(get, "/event-subscriptions/", "list-event-subscriptions", "The project's event webhook subscriptions (never their secrets)", "event-webhooks", Viewer, h.list),
			op(post, "/event-subscriptions/", "create-event-subscription", "Subscribe a URL to events; the signing secret is in the answer, shown once", "event-webhooks", Owner, h.create).with(created),
			op(get, "/event-subscriptions/{subscription_id}/", "get-event-subscription", "Get an event webhook subscription", "event-webhooks", Viewer, h.get),
			op(put, "/event-subscriptions/{subscription_id}/", "update-event-subscription", "Change a subscription's URL, events, description or activity", "event-webhooks", Owner, h.update),
			op(del, "/event-subscriptions/{subscription_id}/", "delete-event-subscription", "Delete a subscription and its deliveries", "event-webhooks", Owner, h.remove).with(noContent),
			op(post, "/event-subscriptions/{subscription_id}/secret", "rotate-event-subscription-secret", "Replace the signing secret; the new one is in the answer, shown once", "event-webhooks", Owner, h.rotate),
			op(get, "/event-subscriptions/{subscription_id}/deliveries/", "list-event-deliveries", "A subscription's deliveries, newest first, with state, attempts and next try", "event-webhooks", Viewer, h.deliveries),
			op(get, "/event-deliveries/{delivery_id}/", "get-event-delivery", "A delivery with its request body and every attempt (signature, answer status and body excerpt, error)", "event-webhooks", Viewer, h.delivery),
			op(post, "/event-deliveries/{delivery_id}/redeliver", "redeliver-event", "Send a delivery again now (signed afresh) and record the attempt", "event-webhooks", Editor, h.redeliver),
		)
	}
	// WhatsApp numbers: embedded signup and business profiles (profile.go).
	if s.deps.Channels != nil {
		pa := profileAPI{s: s}
		photo := func(r *Route) { r.MaxBodyBytes = photoBodyLimit }
		routes = append(routes,
			op(get, "/channels/{channel_id}/profile", "get-channel-profile", "The number's business profile as WhatsApp shows it, with its display-name requests and their review", "channels", Viewer, pa.get),
			op(put, "/channels/{channel_id}/profile", "update-channel-profile", "Change the business profile (about, address, description, email, websites, vertical); absent fields stay", "channels", Editor, pa.update),
			op(post, "/channels/{channel_id}/profile/photo", "upload-channel-profile-photo", "Upload a profile photo (JPEG or PNG, base64): Meta's Resumable Upload API, then the profile's handle", "channels", Editor, pa.photo).with(photo),
			op(post, "/channels/{channel_id}/profile/display-name", "request-channel-display-name", "Ask Meta for a new display name; it stays pending until Meta's review arrives by webhook", "channels", Editor, pa.displayName),
		)
	}
	if s.deps.Signup != nil {
		sa := signupAPI{s: s}
		routes = append(routes,
			op(get, "/whatsapp-signups/config", "whatsapp-signup-config", "What the Channels page needs to launch Meta's embedded signup (app and configuration IDs; whether the sandbox stands in)", "channels", Viewer, sa.config),
			op(post, "/whatsapp-signups/", "start-whatsapp-signup", "Connect a number from what Meta's signup window returned: exchange the code, subscribe the app, register the number, create the channel — each step with its outcome", "channels", Owner, sa.start).with(created),
			op(get, "/whatsapp-signups/{signup_id}/", "get-whatsapp-signup", "A signup with each step's outcome", "channels", Viewer, sa.get),
			op(post, "/whatsapp-signups/{signup_id}/retry", "retry-whatsapp-signup", "Run a failed signup again from the failed step", "channels", Owner, sa.retry),
		)
	}
	// Provider webhooks, as each registered channel type declares them
	// (/webhooks/{type}/{channel_id} and /webhooks/{type}).
	return append(routes, s.webhookRoutes(ra)...)
}

func created(r *Route)   { r.Status = http.StatusCreated }
func noContent(r *Route) { r.Status = http.StatusNoContent }

// register adds one table entry to the mux, through huma for operations.
func (s *Server) register(r *Route) {
	if r.raw != nil {
		pattern := r.Path
		if r.Method != "" {
			pattern = r.Method + " " + r.Path
		}
		s.mux.Handle(pattern, r.raw)
		if r.Method != "" {
			// Raw routes are documented too, so the reference lists every route.
			params := []*huma.Param{}
			for _, name := range pathParams(r.Path) {
				params = append(params, &huma.Param{Name: name, In: "path", Required: true, Schema: &huma.Schema{Type: "string"}})
			}
			s.api.OpenAPI().AddOperation(&huma.Operation{OperationID: r.ID, Method: r.Method, Path: r.Path, Summary: r.Summary,
				Tags: []string{"operations"}, Parameters: params, Responses: map[string]*huma.Response{"200": {Description: r.Summary}}})
		}
		return
	}
	o := huma.Operation{
		OperationID:   r.ID,
		Method:        r.Method,
		Path:          r.Path,
		Summary:       r.Summary,
		Tags:          []string{r.Tag},
		DefaultStatus: r.Status,
		MaxBodyBytes:  r.MaxBodyBytes,
		Metadata:      map[string]any{metaRoute: r},
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = s.deps.MaxBodyBytes
	}
	if r.Access != Public {
		o.Security = []map[string][]string{{"bearer": {}}, {"session": {}}}
	}
	r.register(s.api, o)
}

const metaRoute = "parley.route"
