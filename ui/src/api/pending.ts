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
  reason?: string;
  channel_id?: string;
  updated_at?: string;
}
export const templates = {
  list: (cursor?: string, name?: string) =>
    rawRequest<Page<MessageTemplate>>('GET', buildUrl('/templates/', {}, { cursor, name })).then((r) => r.data),
  // Only the definition is sent: status, IDs and times are Meta's and the server's.
  create: (t: MessageTemplate) =>
    rawRequest<MessageTemplate>('POST', '/templates/', {
      ...(t.channel_id ? { channel_id: t.channel_id } : {}),
      name: t.name,
      language: t.language,
      category: t.category,
      components: t.components,
    }).then((r) => r.data),
  sync: () => rawRequest<Record<string, unknown>>('POST', '/templates/sync/', {}).then((r) => r.data),
};

