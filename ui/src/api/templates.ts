// Message templates: the calls go through the typed client generated from
// /openapi.json; the component types below describe Meta's template format
// (which the API passes through as JSON), for the editor and its preview.
import { api } from './client';


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
  /** search: a part of the name or of the text, any case. */
  list: async (cursor?: string, search?: string) =>
    (await api.get('/templates/', { query: { cursor, search } })) as unknown as Page<MessageTemplate>,
  // Only the definition is sent: status, IDs and times are Meta's and the server's.
  create: async (t: MessageTemplate) =>
    (await api.post('/templates/', {
      body: {
        ...(t.channel_id ? { channel_id: t.channel_id } : {}),
        name: t.name,
        language: t.language,
        category: t.category as 'UTILITY' | 'MARKETING' | 'AUTHENTICATION',
        components: t.components,
      },
    })) as unknown as MessageTemplate,
  // An edit sends the components (and category); Meta reviews it again.
  update: async (id: string, t: MessageTemplate) =>
    (await api.put('/templates/{template_id}/', {
      path: { template_id: id },
      body: { category: t.category as 'UTILITY' | 'MARKETING' | 'AUTHENTICATION', components: t.components },
    })) as unknown as MessageTemplate,
  sync: () => api.post('/templates/sync/', { body: {} }),
};

