// The campaign and dataset API's shapes (docs/campaigns.md) and the calls
// the campaign pages make. Multipart uploads and the event stream are not
// something the generated OpenAPI client can describe, so these go through
// rawRequest and fetch with the same credentials and CSRF header.
import { ApiError, csrfHeader, rawRequest, type Schemas } from '../api/client';

// The shapes come from the generated OpenAPI types, so an API change shows
// up here as a type error.
export type Campaign = Schemas['CampaignView'];
export type CampaignStatus = Campaign['status'];
export type Mapping = Schemas['MappingView'];
export type DatasetRow = Schemas['RowView'];
export type Dataset = Schemas['DatasetView'];
export type Checklist = Schemas['Checklist'];
export type ChecklistItem = NonNullable<Checklist['items']>[number];
export type ExecutionSettings = Schemas['ExecutionCreateInputBody'];
export type Execution = Schemas['ExecutionView'];
export type Report = Schemas['Report'];
export type ChannelReport = Schemas['ChannelReport'];

/** A list answer: the API pages with items and next (or results and next_cursor). */
export interface Page<T> {
  items?: T[];
  results?: T[];
  next?: string;
  next_cursor?: string;
}
export const itemsOf = <T,>(p: Page<T> | T[] | undefined): T[] => (Array.isArray(p) ? p : (p?.items ?? p?.results ?? []));

/** The writable fields of a campaign (what PUT takes), from a campaign and changes. */
export function campaignBody(c: Campaign, over: Partial<Campaign> = {}): Partial<Campaign> {
  const m = { ...c, ...over };
  return {
    name: m.name,
    description: m.description,
    flow_id: m.flow_id,
    channel_ids: m.channel_ids ?? [],
    dataset_ids: m.dataset_ids ?? [],
    start_at: m.start_at,
    end_at: m.end_at,
    version: m.version,
  };
}

const get = async <T,>(url: string, signal?: AbortSignal) => (await rawRequest<T>('GET', url, undefined, {}, signal)).data;
const send = async <T,>(method: string, url: string, body?: unknown) => (await rawRequest<T>(method, url, body)).data;
const enc = encodeURIComponent;

export const campaignsApi = {
  list: (signal?: AbortSignal) => get<Page<Campaign>>('/campaigns/', signal),
  get: (id: string, signal?: AbortSignal) => get<Campaign>(`/campaigns/${enc(id)}/`, signal),
  create: (body: Partial<Campaign>) => send<Campaign>('POST', '/campaigns/', body),
  update: (id: string, body: Partial<Campaign>) => send<Campaign>('PUT', `/campaigns/${enc(id)}/`, body),
  remove: (id: string) => send<void>('DELETE', `/campaigns/${enc(id)}/`),
  checklist: (id: string, datasetId: string, signal?: AbortSignal) =>
    get<Checklist>(`/campaigns/${enc(id)}/checklist/${datasetId ? `?dataset_id=${enc(datasetId)}` : ''}`, signal),
  executions: (id: string, signal?: AbortSignal) => get<Page<Execution>>(`/campaigns/${enc(id)}/executions/`, signal),
  execution: (id: string, eid: string, signal?: AbortSignal) => get<Execution>(`/campaigns/${enc(id)}/executions/${enc(eid)}/`, signal),
  start: (id: string, body: ExecutionSettings) => send<Execution>('POST', `/campaigns/${enc(id)}/executions/`, body),
  act: (id: string, eid: string, action: 'pause' | 'resume' | 'stop') =>
    send<Execution>('POST', `/campaigns/${enc(id)}/executions/${enc(eid)}/${action}`),
  eventsUrl: (id: string, eid: string) => `/campaigns/${enc(id)}/executions/${enc(eid)}/events`,
  report: (id: string, signal?: AbortSignal) => get<Report>(`/campaigns/${enc(id)}/report/`, signal),
  recipientsCsvUrl: (id: string) => `/campaigns/${enc(id)}/report/recipients.csv`,
};

export const datasetsApi = {
  list: (signal?: AbortSignal) => get<Page<Dataset>>('/datasets/', signal),
  get: (id: string, signal?: AbortSignal) => get<Dataset>(`/datasets/${enc(id)}/`, signal),
  setMapping: (id: string, m: Mapping) => send<Dataset>('PUT', `/datasets/${enc(id)}/mapping`, m),
  rows: (id: string, status: string, after: string, signal?: AbortSignal) =>
    get<Page<DatasetRow>>(`/datasets/${enc(id)}/rows/?limit=50${status ? `&status=${enc(status)}` : ''}${after ? `&cursor=${enc(after)}` : ''}`, signal),
  reportCsvUrl: (id: string) => `/datasets/${enc(id)}/report.csv`,
  remove: (id: string) => send<void>('DELETE', `/datasets/${enc(id)}/`),
  /** Uploads a CSV (multipart) with an optional phone column and default country; answers the dataset in processing. */
  upload: async (file: File, name: string, defaultCountry: string): Promise<Dataset> => {
    const fd = new FormData();
    fd.append('file', file);
    if (name) fd.append('name', name);
    if (defaultCountry) fd.append('default_country', defaultCountry);
    let res: Response;
    try {
      res = await fetch('/datasets/', { method: 'POST', body: fd, credentials: 'same-origin', headers: { Accept: 'application/json, application/problem+json', 'X-CSRF-Token': csrfHeader() } });
    } catch (e) {
      throw new ApiError(0, { detail: `The server could not be reached (${(e as Error).message}).` });
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = { detail: text || res.statusText };
    }
    if (!res.ok) throw new ApiError(res.status, body as Record<string, unknown>);
    return body as Dataset;
  },
};
