// Server-sent events over a POST: the AI routes stream their progress as
// `event: progress` and end with one result event (`draft`, `proposal`,
// `whatsapp_flow`) or `error`. EventSource cannot POST, so the stream is
// read from fetch and parsed here (the parser is pure and unit-tested).
import { ApiError } from '../api/client';

export interface SSEEvent {
  event: string;
  data: string;
}

/**
 * An incremental parser of the text/event-stream format: feed it chunks as
 * they arrive (split anywhere, even inside a line or a CRLF); it returns the
 * events completed so far. Comments (`:`), `id` and `retry` are ignored;
 * multi-line data is joined with "\n"; an event without a name is "message".
 */
export class SSEParser {
  private buf = '';
  private event = '';
  private data: string[] = [];
  private hasData = false;

  feed(chunk: string): SSEEvent[] {
    this.buf += chunk;
    const out: SSEEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) break;
      // A lone \r at the end may be the first half of \r\n: wait for more.
      if (m[0] === '\r' && m.index === this.buf.length - 1) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      this.line(line, out);
    }
    return out;
  }

  /** Ends the stream: a last event not followed by a blank line is dropped, as the spec says. */
  end(): SSEEvent[] {
    this.buf = '';
    this.event = '';
    this.data = [];
    this.hasData = false;
    return [];
  }

  private line(line: string, out: SSEEvent[]) {
    if (line === '') {
      if (this.hasData) out.push({ event: this.event || 'message', data: this.data.join('\n') });
      this.event = '';
      this.data = [];
      this.hasData = false;
      return;
    }
    if (line.startsWith(':')) return;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') {
      this.data.push(value);
      this.hasData = true;
    }
  }
}

/** One progress step of an AI route. */
export interface Progress {
  stage: string;
  round?: number;
  max_rounds?: number;
  detail: string;
  chars?: number;
}

function csrf(): string {
  const m = /(?:^|;\s*)parley_csrf=([^;]+)/.exec(document.cookie);
  return m ? decodeURIComponent(m[1]) : '';
}

/**
 * POSTs body to url and follows the event stream: progress events go to
 * onProgress; the result event's data is returned parsed. A problem answered
 * before the stream (no provider, bad input) or an `error` event throws an
 * ApiError with the problem's detail; so does a stream that ends without a
 * result.
 */
export async function postStream<T>(url: string, body: unknown, onProgress: (p: Progress) => void, signal?: AbortSignal, csrfToken = csrf()): Promise<{ event: string; data: T }> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream, application/problem+json', ...(csrfToken ? { 'X-CSRF-Token': csrfToken } : {}) },
      body: JSON.stringify(body ?? {}),
      credentials: 'same-origin',
      signal,
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, { detail: `The server could not be reached (${(e as Error).message}).` });
  }
  if (!res.ok || !(res.headers.get('Content-Type') ?? '').includes('text/event-stream')) {
    const text = await res.text();
    let b: Record<string, unknown>;
    try {
      b = JSON.parse(text) as Record<string, unknown>;
    } catch {
      b = { detail: text || res.statusText };
    }
    if (res.ok) throw new ApiError(502, { detail: `expected an event stream, got ${res.headers.get('Content-Type') ?? 'nothing'}` });
    throw new ApiError(res.status, b);
  }
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  const parser = new SSEParser();
  for (;;) {
    const { value, done } = await reader.read();
    const events = done ? parser.feed(dec.decode() + '\n\n') : parser.feed(dec.decode(value, { stream: true }));
    for (const ev of events) {
      let data: unknown;
      try {
        data = JSON.parse(ev.data);
      } catch {
        throw new ApiError(502, { detail: `the server sent an unreadable ${ev.event} event: ${ev.data.slice(0, 200)}` });
      }
      if (ev.event === 'progress') onProgress(data as Progress);
      else if (ev.event === 'error') {
        const p = data as Record<string, unknown>;
        throw new ApiError(typeof p.status === 'number' ? p.status : 502, p);
      } else {
        void reader.cancel().catch(() => {});
        return { event: ev.event, data: data as T };
      }
    }
    if (done) throw new ApiError(502, { detail: 'the server ended the stream without a result (the connection was cut?)' });
  }
}
