// Shared helpers for the browser test suites (tests.mjs and suites/*.mjs).
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

