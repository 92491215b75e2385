// Endpoints the UI uses that are not in /openapi.json yet: the message
// templates API (/templates/, /templates/sync/) is being built.
// They are coded against the agreed contracts; when an endpoint lands in the
// OpenAPI document, move its callers to the typed `api` client and delete the
// hand-written type here. `npm run gen-api` + the type-check then keep them honest.
import { buildUrl, rawRequest } from './client';

export interface Page<T> {
  results: T[] | null;
  next_cursor?: string;
}

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

