// Shared helpers for the browser test suites (tests.mjs and suites/*.mjs).
import { createServer } from 'node:http';

export const skip = (msg) => Object.assign(new Error(msg), { skip: true });

/** Calls the API with the page's session (cookie + CSRF header). */
export async function apiCall(page, method, path, body, headers = {}) {
  return page.evaluate(
    async ({ method, path, body, headers }) => {
      const csrf = /(?:^|;\s*)parley_csrf=([^;]+)/.exec(document.cookie)?.[1] ?? '';
      const res = await fetch(path, {
        method,
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': decodeURIComponent(csrf), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let json = null;
      try {
        json = JSON.parse(text);
      } catch {}
      return { status: res.status, json, text };
    },
    { method, path, body, headers },
  );
}

export async function openFlow(env, id) {
  await env.page.goto(`${env.base}/app/flows/${id}`);
  await env.page.locator('.react-flow__node').first().waitFor();
}

export const node = (page, id) => page.locator(`.react-flow__node[data-id="${id}"]`);


/**
 * Starts a small OpenAI-compatible chat model on a loopback port: GET /models
 * lists `model`; each chat completion's message content is answer(request)
 * (the request body, parsed). Resolves to the listening server.
 */
export function fakeChatModel(model, answer) {
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      res.setHeader('Content-Type', 'application/json');
      if (req.method === 'GET' && req.url.endsWith('/models')) {
        res.end(JSON.stringify({ object: 'list', data: [{ id: model, object: 'model' }] }));
        return;
      }
      const content = answer(JSON.parse(body || '{}'));
      res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', created: 0, model, choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
    });
  });
  return new Promise((ok) => srv.listen(0, '127.0.0.1', () => ok(srv)));
}

/**
 * Makes the fake chat model `srv` (from fakeChatModel, serving `model`) the
 * project's only AI provider, named `name`: the sandbox's own fake LLM (the
 * project's first provider) makes way for a test that scripts the model.
 * Resolves to the new provider.
 */
export async function useOnlyModel(page, name, srv, model) {
  const existing = await apiCall(page, 'GET', '/ai/providers/');
  for (const p of existing.json?.results ?? []) await apiCall(page, 'DELETE', `/ai/providers/${p.id}/`);
  const prov = await apiCall(page, 'POST', '/ai/providers/', { name, base_url: `http://127.0.0.1:${srv.address().port}/v1`, model });
  if (prov.status !== 201) throw new Error(`adding the AI provider ${name}: ${prov.status} ${prov.text}`);
  return prov.json;
}

/**
 * Follows a sandbox call started by POST /sandbox/calls/ (its answer is
 * started): the returned function waits until the caller heard `what`
 * ('result': until the call has its result) and returns that poll's body.
 */
export function callListener(page, started) {
  const path = `/sandbox/calls/${started.json.id}/`;
  let after = 0;
  return async (what) => {
    for (let i = 0; i < 40; i++) {
      const v = await apiCall(page, 'GET', `${path}?after=${after}&wait_ms=1000&session_id=${started.json.session_id}`);
      if (v.status !== 200) throw new Error(`following the call: ${v.status} ${v.text}`);
      after = v.json.cursor;
      if ((v.json.events ?? []).some((e) => e.text === what) || (what === 'result' && v.json.result)) return v.json;
    }
    throw new Error('never heard ' + what);
  };
}
