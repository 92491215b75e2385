// Endpoints the UI uses that are not in /openapi.json yet (simulator,
// channels, templates, contacts, conversations, sessions are being built).
// They are coded against the agreed contracts; when an endpoint lands in the
// OpenAPI document, move its callers to the typed `api` client and delete the
// hand-written type here. `npm run gen-api` + the type-check then keep them honest.
import { buildUrl, rawRequest } from './client';

export interface Page<T> {
  results: T[] | null;
  next_cursor?: string;
}

// ---- Simulator ----
export interface SimMessage {
  id: string;
  direction: 'in' | 'out';
  type: 'text' | 'media' | 'buttons' | 'list' | 'template' | 'whatsapp_flow' | string;
  text?: string;
  buttons?: string[];
  list?: { button: string; sections: { title?: string; rows: { id: string; title: string; description?: string }[] }[] };
  media?: { type: string; url: string; caption?: string };
  template?: Record<string, unknown>;
  status?: string;
  created_at?: string;
}
export interface SimTrace {
  kind: string;
  node_id?: string;
  data?: Record<string, unknown>;
  created_at?: string;
}
export interface SimSession {
  id: string;
  flow_id: string;
  draft: boolean;
  revision: number;
  status: 'waiting' | 'completed' | 'failed' | 'expired' | 'interrupted' | string;
  waiting_for?: { kind: string; node_id?: string; timeout_at?: string | null } | null;
  messages: SimMessage[] | null;
  path: string[] | null;
  variables: Record<string, unknown> | null;
  trace: SimTrace[] | null;
  errors: { node_id?: string; text: string }[] | null;
}
export type SimInput = { text: string } | { button: string } | { list_reply: string } | { flow_response: Record<string, unknown> };

export const simulator = {
  start: (body: { flow_id: string; draft: boolean; contact?: { name?: string; phone?: string; fields?: Record<string, unknown> }; variables?: Record<string, unknown> }) =>
    rawRequest<SimSession>('POST', '/simulator/sessions/', body).then((r) => r.data),
  send: (id: string, input: SimInput) =>
    rawRequest<SimSession>('POST', buildUrl('/simulator/sessions/{id}/messages/', { id }), input).then((r) => r.data),
  timeout: (id: string) => rawRequest<SimSession>('POST', buildUrl('/simulator/sessions/{id}/timeout/', { id }), {}).then((r) => r.data),
  get: (id: string) => rawRequest<SimSession>('GET', buildUrl('/simulator/sessions/{id}/', { id })).then((r) => r.data),
};

// ---- Channels ----
export interface WhatsAppConfig {
  phone_number_id: string;
  waba_id: string;
  access_token?: string;
  app_secret?: string;
  verify_token: string;
  api_base_url?: string;
  api_version?: string;
  messages_per_second?: number;
}
export interface Channel {
  id: string;
  type: string;
  name: string;
  address?: string;
  config?: Partial<WhatsAppConfig> & Record<string, unknown>;
  status?: string;
  webhook_url?: string;
  created_at?: string;
  updated_at?: string;
}
export interface ChannelInput {
  type: string;
  name: string;
  config: Record<string, unknown>;
}
export const channels = {
  list: (cursor?: string) => rawRequest<Page<Channel>>('GET', buildUrl('/channels/', {}, { cursor })).then((r) => r.data),
  get: (id: string) => rawRequest<Channel>('GET', buildUrl('/channels/{id}/', { id })).then((r) => r.data),
  create: (body: ChannelInput) => rawRequest<Channel>('POST', '/channels/', body).then((r) => r.data),
  update: (id: string, body: Partial<ChannelInput>) => rawRequest<Channel>('PUT', buildUrl('/channels/{id}/', { id }), body).then((r) => r.data),
  remove: (id: string) => rawRequest<void>('DELETE', buildUrl('/channels/{id}/', { id })).then(() => undefined),
  check: (id: string) =>
    rawRequest<{ ok?: boolean; detail?: string; message?: string } & Record<string, unknown>>('POST', buildUrl('/channels/{id}/check/', { id }), {}).then(
      (r) => r.data,
    ),
};

// ---- Message templates (Meta's component format) ----
export interface TemplateButton {
  type: string;
  text?: string;
  url?: string;
  phone_number?: string;
}
export interface TemplateComponent {
  type: 'HEADER' | 'BODY' | 'FOOTER' | 'BUTTONS' | string;
  format?: string;
  text?: string;
  buttons?: TemplateButton[];
  example?: Record<string, unknown>;
}
export interface MessageTemplate {
  id?: string;
  name: string;
  language: string;
  category: string;
  components: TemplateComponent[];
  status?: string;
  quality?: string;
  rejected_reason?: string;
  channel_id?: string;
  updated_at?: string;
}
export const templates = {
  list: (cursor?: string, search?: string) =>
    rawRequest<Page<MessageTemplate>>('GET', buildUrl('/templates/', {}, { cursor, search })).then((r) => r.data),
  create: (t: MessageTemplate) => rawRequest<MessageTemplate>('POST', '/templates/', t).then((r) => r.data),
  update: (id: string, t: MessageTemplate) => rawRequest<MessageTemplate>('PUT', buildUrl('/templates/{id}/', { id }), t).then((r) => r.data),
  sync: () => rawRequest<Record<string, unknown>>('POST', '/templates/sync/', {}).then((r) => r.data),
};

// ---- Contacts, conversations, sessions ----
export interface Contact {
  id: string;
  name: string;
  phone: string;
  language?: string;
  fields?: Record<string, unknown> | null;
  tags?: string[] | null;
  opted_out?: boolean;
  opted_out_at?: string | null;
  assignee?: string;
  last_inbound_at?: string | null;
}
export interface ConversationMessage {
  id: string;
  contact_id?: string;
  session_id?: string;
  direction: 'in' | 'out';
  type: string;
  content?: Record<string, unknown> | null;
  text?: string;
  status: string;
  error_code?: string;
  error_reason?: string;
  created_at: string;
}
export interface FlowSession {
  id: string;
  contact_id: string;
  flow_id: string;
  flow_name?: string;
  revision: number;
  status: string;
  waiting_for?: string;
  node_id?: string;
  timeout_at?: string | null;
  expires_at?: string;
  variables?: Record<string, unknown> | null;
  created_at?: string;
}
export const contacts = {
  list: (search?: string, cursor?: string) =>
    rawRequest<Page<Contact>>('GET', buildUrl('/contacts/', {}, { search, cursor })).then((r) => r.data),
  messages: (contactId: string, cursor?: string) =>
    rawRequest<Page<ConversationMessage>>('GET', buildUrl('/conversations/{id}/messages/', { id: contactId }, { cursor })).then(
      (r) => r.data,
    ),
  reply: (contactId: string, text: string) =>
    rawRequest<ConversationMessage>('POST', buildUrl('/conversations/{id}/messages/', { id: contactId }), { text }).then((r) => r.data),
  release: (contactId: string) => rawRequest<unknown>('POST', buildUrl('/contacts/{id}/release/', { id: contactId }), {}).then((r) => r.data),
  sessions: (contactId: string) =>
    rawRequest<Page<FlowSession>>('GET', buildUrl('/sessions/', {}, { contact: contactId })).then((r) => r.data),
  session: (id: string) => rawRequest<FlowSession>('GET', buildUrl('/sessions/{id}/', { id })).then((r) => r.data),
  interrupt: (id: string) => rawRequest<unknown>('POST', buildUrl('/sessions/{id}/interrupt/', { id }), {}).then((r) => r.data),
};
