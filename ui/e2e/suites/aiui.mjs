// AI in the UI against the sandbox's fake LLM (the provider "Sandbox LLM"
// that `serve --sandbox` registers): providers in Settings with their
// check, a chat flow generated from a description with visible progress and
// test conversations, loaded to the canvas, changed by "Ask AI to change…"
// with the diff on a canvas (and the 409 when the draft moved), accepted and
// published; a WhatsApp Flow generated, updated and explained; and the "no
// AI provider configured" way out.
import assert from 'node:assert/strict';
import { apiCall } from '../lib.mjs';

export const serverArgs = ['--sandbox'];

const shared = {};

/** Picks the sandbox's fake LLM where a dialog offers a choice of providers (a project with several). */
async function useSandboxLLM(scope) {
  const sel = scope.getByLabel('AI provider');
  if (!(await sel.count())) return;
  await sel.selectOption((await sel.locator('option', { hasText: 'Sandbox LLM' }).getAttribute('value')) ?? '');
}

export const tests = [
  {
    name: 'aiui: the Sandbox LLM provider checks green; a provider is added, checked, edited and deleted',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await page.goto(`${env.base}/app/settings`);
      const table = page.getByRole('table', { name: 'AI providers' });
      await table.getByRole('cell', { name: /^Sandbox LLM/ }).waitFor();
      await page.getByRole('button', { name: 'Check Sandbox LLM' }).click();
      const check = page.getByRole('list', { name: 'Check of Sandbox LLM' });
      await check.waitFor();
      assert.equal(await check.locator('li.ok').count(), 4, await check.innerText());
      assert.match(await check.innerText(), /model "parley-sandbox-fake" is served/);

      await page.getByRole('button', { name: 'Add AI provider' }).click();
      const dlg = page.getByRole('dialog', { name: 'Add AI provider' });
      await dlg.getByLabel('Name').fill('Local Ollama');
      await dlg.getByLabel('Base URL').fill('http://127.0.0.9:11434/v1');
      await dlg.getByLabel('Model').fill('qwen2.5:7b');
      await dlg.getByLabel('API key').fill('sk-secret-123');
      await dlg.getByLabel('Timeout (s)').fill('5');
      await env.shot('aiui-01-add-provider');
      await dlg.getByRole('button', { name: 'Save' }).click();
      const row = table.getByRole('row').filter({ hasText: 'Local Ollama' });
      await row.waitFor();
      assert.match(await row.innerText(), /stored/);
      // The key is never sent back.
      const l = await apiCall(page, 'GET', '/ai/providers/');
      assert.ok(!JSON.stringify(l.json).includes('sk-secret-123'));
      await page.getByRole('button', { name: 'Check Local Ollama' }).click();
      const bad = page.getByRole('list', { name: 'Check of Local Ollama' });
      await bad.waitFor({ timeout: 30000 });
      assert.equal(await bad.locator('li.ok').count(), 0);
      assert.match(await bad.innerText(), /could not be reached|did not answer/);
      await env.shot('aiui-02-providers-checked');

      await page.getByRole('button', { name: 'Edit Local Ollama' }).click();
      const ed = page.getByRole('dialog', { name: 'Edit Local Ollama' });
      assert.equal(await ed.getByLabel('API key').inputValue(), '');
      await ed.getByLabel('Model').fill('llama3.1:8b');
      await ed.getByRole('button', { name: 'Save' }).click();
      await row.filter({ hasText: 'llama3.1:8b' }).waitFor();
      const after = (await apiCall(page, 'GET', '/ai/providers/')).json.results.find((p) => p.name === 'Local Ollama');
      assert.equal(after.has_api_key, true, 'editing without a key keeps the stored one');
      await page.getByRole('button', { name: 'Delete Local Ollama' }).click();
      await page.getByRole('dialog', { name: 'Delete Local Ollama?' }).getByRole('button', { name: 'Delete' }).click();
      await row.waitFor({ state: 'detached' });
    },
  },
  {
    name: 'aiui: generate a flow from a description, see progress and test conversations, load it',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await page.goto(`${env.base}/app/flows`);
      await page.getByRole('button', { name: 'New flow' }).click();
      const dlg = page.getByRole('dialog', { name: 'New flow' });
      await dlg.getByRole('tab', { name: 'Generate with AI' }).click();
      await dlg.getByLabel('What should the flow do?').fill('Let customers book a haircut appointment: a service, a date and a time.');
      await dlg.getByLabel('Starts on').selectOption('keyword');
      await dlg.getByLabel('Keywords').fill('haircut');
      await useSandboxLLM(dlg);
      await dlg.getByRole('button', { name: 'Generate', exact: true }).click();
      const progress = dlg.getByRole('region', { name: 'Generation progress' });
      // The stream shows the stages while they happen.
      await progress.locator('li.current').first().waitFor();
      await env.shot('aiui-03-generating');
      await progress.locator('li[data-stage="done"]').waitFor({ timeout: 30000 });
      const text = await progress.innerText();
      for (const s of ['Planning', 'Drafting', 'Validating', 'Running test conversations', 'Done']) assert.match(text, new RegExp(s));
      const draft = dlg.getByRole('region', { name: 'Generated draft' });
      await draft.getByRole('status').filter({ hasText: 'Ready' }).waitFor();
      assert.ok((await draft.locator('.react-flow__node').count()) > 10, 'the draft is on a canvas');
      const tests = draft.getByRole('region', { name: 'Test conversations' });
      assert.match(await tests.innerText(), /Test conversations: 3 of 3 passed/);
      await tests.locator('details').first().locator('summary').click();
      assert.match(await tests.locator('.ai-turns').first().innerText(), /Contact:\s*book/);
      await env.shot('aiui-04-draft');
      await draft.getByLabel('Flow name').fill('AI haircut booking');
      await draft.getByRole('button', { name: 'Load to canvas' }).click();
      await page.getByRole('heading', { name: 'AI haircut booking' }).waitFor();
      await page.locator('.react-flow__node').first().waitFor();
      shared.flowId = page.url().split('/flows/')[1];
      const f = await apiCall(page, 'GET', `/chat-flow/flows/${shared.flowId}/`);
      assert.equal(f.status, 200);
      const start = f.json.flow_data.nodes.find((n) => n.type === 'start');
      assert.deepEqual(start.data.trigger.keywords, ['haircut'], 'the chosen trigger replaces the template’s');
      await env.shot('aiui-05-loaded');
    },
  },
  {
    name: 'aiui: a generation that never lints shows its best draft with the problems, not as ready',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await page.goto(`${env.base}/app/flows`);
      await page.getByRole('button', { name: 'New flow' }).click();
      const dlg = page.getByRole('dialog', { name: 'New flow' });
      await dlg.getByRole('tab', { name: 'Generate with AI' }).click();
      // "#fail" makes the sandbox's fake answer an invented node type every time.
      await dlg.getByLabel('What should the flow do?').fill('A satisfaction survey #fail');
      await useSandboxLLM(dlg);
      await dlg.getByRole('button', { name: 'Generate', exact: true }).click();
      const draft = dlg.getByRole('region', { name: 'Generated draft' });
      await draft.waitFor({ timeout: 40000 });
      assert.match(await dlg.getByRole('region', { name: 'Generation progress' }).innerText(), /Repairing 3\/3/);
      const status = await draft.getByRole('status').innerText();
      assert.match(status, /Not ready/);
      assert.doesNotMatch(status, /^Ready/);
      assert.match(await draft.locator('.ai-problems').innerText(), /send_fax/);
      assert.match(await draft.innerText(), /No test conversations were run/);
      await draft.getByRole('button', { name: 'Load to canvas anyway (fix the problems there)' }).waitFor();
      assert.equal(await draft.getByRole('button', { name: 'Load to canvas', exact: true }).count(), 0);
      await env.shot('aiui-05b-not-ready');
    },
  },
  {
    name: 'aiui: ask AI for a change, see the diff, the draft moves (409), ask again, accept and publish',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await page.goto(`${env.base}/app/flows/${shared.flowId}`);
      await page.locator('.react-flow__node').first().waitFor();
      await page.getByRole('button', { name: 'Ask AI to change…' }).click();
      const dlg = page.getByRole('dialog', { name: 'Ask AI to change…' });
      // An instruction the fake does not understand: no change, nothing to accept.
      await dlg.getByLabel('What should change?').fill('Make it nicer');
      await useSandboxLLM(dlg);
      await dlg.getByRole('button', { name: 'Ask AI' }).click();
      const prop = dlg.getByRole('region', { name: 'Proposed change' });
      await prop.getByRole('status').filter({ hasText: 'No change proposed' }).waitFor({ timeout: 30000 });
      assert.equal(await prop.getByRole('button', { name: /^Accept/ }).count(), 0);
      await dlg.getByLabel('What should change?').fill('Add a message asking for the email after the date question');
      await dlg.getByRole('button', { name: 'Ask again' }).click();
      await prop.getByRole('status').filter({ hasText: 'Proposed change:' }).waitFor({ timeout: 30000 });
      assert.match(await dlg.getByRole('region', { name: 'Change progress' }).innerText(), /Done/);
      const canvas = prop.getByRole('figure', { name: 'Proposed change on the canvas' });
      await canvas.locator('.react-flow__node.diff-added').first().waitFor();
      assert.equal(await canvas.locator('.react-flow__node.diff-added').count(), 2);
      assert.ok((await canvas.locator('.react-flow__edge.diff-added').count()) >= 3);
      assert.equal(await canvas.locator('.react-flow__edge.diff-removed').count(), 1);
      // …and they look it, as the nodes do: an added connection is drawn
      // thick in the "added" colour, a removed one dashed in the danger colour,
      // unlike an unchanged one.
      const look = (sel) => canvas.locator(`${sel} .react-flow__edge-path`).first().evaluate((p) => {
        const cs = getComputedStyle(p);
        return { stroke: cs.stroke, width: cs.strokeWidth, dash: cs.strokeDasharray };
      });
      const plainEdge = await look('.react-flow__edge:not(.diff-added):not(.diff-removed)');
      const addedEdge = await look('.react-flow__edge.diff-added');
      const removedEdge = await look('.react-flow__edge.diff-removed');
      assert.notEqual(addedEdge.stroke, plainEdge.stroke, 'an added connection looks unchanged');
      assert.equal(addedEdge.width, '3px');
      assert.notEqual(removedEdge.stroke, plainEdge.stroke, 'a removed connection looks unchanged');
      assert.notEqual(removedEdge.stroke, addedEdge.stroke);
      assert.match(removedEdge.dash, /6/, 'a removed connection is not dashed');
      await canvas.screenshot({ path: '/tmp/uipolish-diff-edges.png' });
      // Pan so that the removed connection's middle is in the middle of the view.
      const box = await canvas.boundingBox();
      const mid = await canvas.locator('.react-flow__edge.diff-removed .react-flow__edge-path').evaluate((p) => {
        const r = p.getBoundingClientRect();
        return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
      });
      const start = { x: box.x + 40, y: box.y + box.height / 2 };
      await page.mouse.move(start.x, start.y);
      await page.mouse.down();
      await page.mouse.move(start.x + (box.x + box.width / 2 - mid.x), start.y + (box.y + box.height / 2 - mid.y), { steps: 8 });
      await page.mouse.up();
      await canvas.screenshot({ path: '/tmp/uipolish-diff-edges-removed.png' });
      const changes = await prop.getByRole('list', { name: 'Changes' }).innerText();
      assert.match(changes, /added\s+node\s+message ask_email/);
      assert.match(changes, /removed\s+connection/);
      await env.shot('aiui-06-diff');

      // Someone saves the draft meanwhile: accepting now would overwrite it.
      const cur = (await apiCall(page, 'GET', `/chat-flow/flows/${shared.flowId}/`)).json;
      const moved = await apiCall(page, 'PUT', `/chat-flow/flows/${shared.flowId}/`, { version: cur.version, flow_data: cur.flow_data });
      assert.equal(moved.status, 200);
      await prop.getByRole('button', { name: 'Accept' }).click();
      await dlg.getByRole('alert').filter({ hasText: 'The draft moved' }).waitFor();
      await env.shot('aiui-07-draft-moved');
      await dlg.getByRole('button', { name: 'Ask again on the current draft' }).click();
      await prop.getByRole('button', { name: 'Accept' }).waitFor({ timeout: 30000 });
      await prop.getByRole('button', { name: 'Accept' }).click();
      await dlg.waitFor({ state: 'detached' });
      await page.locator('.react-flow__node[data-id="ask_email"]').waitFor();
      const saved = (await apiCall(page, 'GET', `/chat-flow/flows/${shared.flowId}/`)).json;
      assert.equal(saved.version, moved.json.version + 1);
      assert.ok(saved.flow_data.nodes.some((n) => n.id === 'wait_email'));
      await page.getByRole('button', { name: 'Save and publish' }).click();
      await page.getByText(/Published revision/).waitFor();
      await page.locator('.badge', { hasText: 'published' }).first().waitFor();
      await env.shot('aiui-08-accepted-published');
    },
  },
  {
    name: 'aiui: generate a WhatsApp Flow, update it with AI, explain its problems',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await page.goto(`${env.base}/app/whatsapp-flows`);
      await page.getByRole('button', { name: 'Generate with AI' }).click();
      const dlg = page.getByRole('dialog', { name: 'Generate a WhatsApp Flow with AI' });
      await dlg.getByLabel('What should the form ask?').fill('A customer satisfaction survey with a rating and comments');
      await useSandboxLLM(dlg);
      await dlg.getByRole('button', { name: 'Generate' }).click();
      await dlg.getByRole('region', { name: 'Generation progress' }).locator('li').first().waitFor();
      await env.shot('aiui-09-waflow-generating');
      await page.getByRole('heading', { name: 'Survey (sandbox fake LLM)' }).waitFor({ timeout: 30000 });
      await page.locator('.page-head .badge', { hasText: 'DRAFT' }).waitFor();
      const id = page.url().split('/whatsapp-flows/')[1];
      await page.getByRole('status').filter({ hasText: 'Valid Flow JSON' }).waitFor();
      await env.shot('aiui-10-waflow-generated');

      await page.getByRole('button', { name: 'Update with AI' }).click();
      const up = page.getByRole('dialog', { name: 'Update with AI' });
      await up.getByLabel('What should change?').fill('Add a field asking for the delivery date');
      await useSandboxLLM(up);
      await up.getByRole('button', { name: 'Update' }).click();
      await up.waitFor({ state: 'detached', timeout: 30000 });
      assert.match(await page.getByLabel('Flow JSON editor').inputValue(), /delivery_date/);
      const f = await apiCall(page, 'GET', `/whatsapp-flows/${id}/`);
      assert.match(f.json.flow_json, /"delivery_date"/);
      assert.equal(f.json.status, 'DRAFT');
      await env.shot('aiui-11-waflow-updated');

      await page.getByRole('button', { name: 'Explain problems' }).click();
      const ex = page.getByRole('dialog', { name: 'Problems in words' });
      await ex.getByRole('status').waitFor();
      assert.match(await ex.getByRole('status').innerText(), /^Valid/);
      await env.shot('aiui-12-waflow-explained');
    },
  },
  {
    name: 'aiui: without a provider, Generate with AI says so and offers the templates',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await page.goto(`${env.base}/app/flows`);
      const list = (await apiCall(page, 'GET', '/ai/providers/')).json.results;
      for (const p of list) assert.equal((await apiCall(page, 'DELETE', `/ai/providers/${p.id}/`)).status, 204);
      try {
        await page.getByRole('button', { name: 'New flow' }).click();
        const dlg = page.getByRole('dialog', { name: 'New flow' });
        await dlg.getByRole('tab', { name: 'Generate with AI' }).click();
        const note = dlg.getByRole('note');
        await note.filter({ hasText: 'No AI provider configured' }).waitFor();
        assert.ok(await note.getByRole('link', { name: 'Settings → AI providers' }).isVisible());
        await env.shot('aiui-13-no-provider');
        await note.getByRole('button', { name: 'Start from a template' }).click();
        assert.equal(await dlg.getByRole('tab', { name: 'From a template' }).getAttribute('aria-selected'), 'true');
        // The API says the same.
        const r = await apiCall(page, 'POST', '/ai/flows/generate', { description: 'x' });
        assert.equal(r.status, 409);
        assert.match(r.json.detail, /^no AI provider configured/);
      } finally {
        for (const p of list) {
          await apiCall(page, 'POST', '/ai/providers/', { name: p.name, base_url: p.base_url, model: p.model, json_mode: p.json_mode, timeout_seconds: p.timeout_seconds });
        }
      }
    },
  },
];
