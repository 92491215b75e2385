// A small typed client over the generated OpenAPI types: paths, methods,
// path/query parameters, bodies and responses all come from schema.d.ts, so a
// change to the API shows up as a type error here and in the pages.
import type { components, paths } from './schema';

export type Schemas = components['schemas'];
type Method = 'get' | 'post' | 'put' | 'delete';

type PathsWith<M extends Method> = {
  [P in keyof paths]: paths[P] extends { [K in M]: { responses: unknown } } ? P : never;
}[keyof paths];
type Op<P extends keyof paths, M extends Method> = paths[P] extends { [K in M]: infer O } ? O : never;
type JsonOf<T> = T extends { content: { 'application/json': infer J } } ? J : void;
type Resp<O> = O extends { responses: infer R }
  ? 200 extends keyof R
    ? JsonOf<R[200]>
    : 201 extends keyof R
      ? JsonOf<R[201]>
      : void
  : never;
type Body<O> = O extends { requestBody: { content: { 'application/json': infer B } } }
  ? B
  : O extends { requestBody?: { content: { 'application/json': infer B } } }
    ? B
    : never;
type Params<O> = O extends { parameters: infer PR } ? PR : never;
type PathOf<O> = Params<O> extends { path: infer PP } ? (PP extends Record<string, unknown> ? PP : never) : never;
type QueryOf<O> = Params<O> extends { query?: infer Q } ? Q : never;

export interface Options<O> {
  path?: PathOf<O>;
  query?: QueryOf<O>;
  body?: Body<O>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** A field problem of a problem+json answer. */
export interface FieldProblem {
  pointer?: string;
  message?: string;
  code?: string;
  location?: string;
  severity?: string;
  node_id?: string;
  edge_id?: string;
}

/** Any failed request: carries the API's problem+json (detail, code, errors). */
export class ApiError extends Error {
  status: number;
  code: string;
  detail: string;
  errors: FieldProblem[];
  body: Record<string, unknown>;
  constructor(status: number, body: Record<string, unknown>) {
    const detail =
      typeof body.detail === 'string' && body.detail
        ? body.detail
        : typeof body.title === 'string'
          ? body.title
          : `request failed with status ${status}`;
    super(detail);
    this.status = status;
    this.detail = detail;
    this.code = typeof body.code === 'string' ? body.code : '';
    this.errors = Array.isArray(body.errors) ? (body.errors as FieldProblem[]) : [];
    this.body = body;
  }
}

let csrfToken = '';
/** Remembers the CSRF token of the session (from /auth/login or /auth/me). */
export function setCsrfToken(t: string) {
  csrfToken = t;
}
/** The CSRF token to send on a write made outside rawRequest (a multipart upload). */
export function csrfHeader(): string {
  return currentCsrf();
}
function currentCsrf(): string {
  if (csrfToken) return csrfToken;
  const m = /(?:^|;\s*)parley_csrf=([^;]+)/.exec(document.cookie);
  return m ? decodeURIComponent(m[1]) : '';
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();
/** Called when any request answers 401 (the session ended). */
export function onUnauthorized(l: Listener): () => void {
  unauthorizedListeners.add(l);
  return () => unauthorizedListeners.delete(l);
}

export function buildUrl(path: string, params?: Record<string, unknown>, query?: Record<string, unknown>): string {
  let url = path.replace(/\{(\w+)\}/g, (_, k: string) => {
    const v = params?.[k];
    if (v === undefined || v === null) throw new Error(`missing path parameter ${k}`);
    return encodeURIComponent(String(v));
  });
  if (query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null || v === '') continue;
      qs.set(k, String(v));
    }
    const s = qs.toString();
    if (s) url += '?' + s;
  }
  return url;
}

export interface RawResponse<T> {
  data: T;
  headers: Headers;
  status: number;
}

// GETs started before the page that needs them has loaded (see
// preloadGet): the page's own request for the same URL takes the answer
// instead of asking again, so its code and its data load side by side.
const preloaded = new Map<string, { at: number; p: Promise<RawResponse<unknown>> }>();
const PRELOAD_FRESH_MS = 5000;

/** Starts a GET now; the next rawRequest GET of the same URL within 5 s uses its answer. */
export function preloadGet(url: string) {
  const hit = preloaded.get(url);
  if (hit && Date.now() - hit.at < PRELOAD_FRESH_MS) return;
  const p = fetchJson<unknown>('GET', url, undefined, {}, undefined);
  p.catch(() => {});
  preloaded.set(url, { at: Date.now(), p });
}

/** Untyped request, for the rare call the OpenAPI document cannot describe. */
export async function rawRequest<T>(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<RawResponse<T>> {
  if (method === 'GET') {
    const hit = preloaded.get(url);
    preloaded.delete(url);
    // A failed preload is asked again (the page shows that error itself).
    if (hit && Date.now() - hit.at < PRELOAD_FRESH_MS) return (hit.p as Promise<RawResponse<T>>).catch(() => fetchJson<T>(method, url, body, headers, signal));
  }
  return fetchJson<T>(method, url, body, headers, signal);
}

async function fetchJson<T>(
  method: string,
  url: string,
  body: unknown,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
): Promise<RawResponse<T>> {
  const h: Record<string, string> = { Accept: 'application/json, application/problem+json', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') {
    const t = currentCsrf();
    if (t) h['X-CSRF-Token'] = t;
  }
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal,
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, { detail: `The server could not be reached (${(e as Error).message}).` });
  }
  const text = await res.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!res.ok) {
    const b =
      parsed && typeof parsed === 'object'
        ? (parsed as Record<string, unknown>)
        : { detail: res.status === 404 ? `${method} ${url}: not found (404)` : String(parsed ?? res.statusText) };
    if (res.status === 401 && !url.startsWith('/auth/login')) unauthorizedListeners.forEach((l) => l());
    throw new ApiError(res.status, b);
  }
  return { data: parsed as T, headers: res.headers, status: res.status };
}

async function call<M extends Method, P extends PathsWith<M>>(
  method: M,
  path: P,
  opts: Options<Op<P, M>> = {},
): Promise<RawResponse<Resp<Op<P, M>>>> {
  const url = buildUrl(path as string, opts.path as Record<string, unknown>, opts.query as Record<string, unknown>);
  return rawRequest<Resp<Op<P, M>>>(method.toUpperCase(), url, opts.body, opts.headers, opts.signal);
}

/** The typed API: `api.get('/chat-flow/flows/{flow_id}/', {path: {flow_id}})`. */
export const api = {
  get: async <P extends PathsWith<'get'>>(path: P, opts?: Options<Op<P, 'get'>>) => (await call('get', path, opts)).data,
  post: async <P extends PathsWith<'post'>>(path: P, opts?: Options<Op<P, 'post'>>) =>
    (await call('post', path, opts)).data,
  put: async <P extends PathsWith<'put'>>(path: P, opts?: Options<Op<P, 'put'>>) => (await call('put', path, opts)).data,
  del: async <P extends PathsWith<'delete'>>(path: P, opts?: Options<Op<P, 'delete'>>) =>
    (await call('delete', path, opts)).data,
  /** Like the methods above, but with the response headers (ETag…). */
  call,
};

export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.detail;
  if (e instanceof Error) return e.message;
  return String(e);
}
