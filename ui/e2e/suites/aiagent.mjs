// AI agent nodes: the form shows the mode and the labels, the canvas draws
// one exit per label, and the simulator runs classify then reply against a
// fake OpenAI-compatible provider this suite starts (the project's provider
// points at it).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { apiCall, node, openFlow } from '../lib.mjs';

// fakeProvider answers /v1/models and /v1/chat/completions: classify
// requests (they carry a response_format) get a label, others a reply.
function fakeProvider() {
  const requests = [];
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      res.setHeader('Content-Type', 'application/json');
      if (req.method === 'GET' && req.url === '/v1/models') {
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'fake-model', object: 'model', created: 1700000000, owned_by: 'fake' }] }));
        return;
      }
      const q = JSON.parse(body || '{}');
      requests.push(q);
      const last = q.messages?.[q.messages.length - 1]?.content ?? '';
      const content = q.response_format
        ? JSON.stringify({ label: /invoice|pay/i.test(last) ? 'billing' : 'tech' })
        : 'Happy to help with your invoice.';
      res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', created: 1700000000, model: q.model,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 20, completion_tokens: 5, total_tokens: 25 } }));
    });
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${srv.address().port}/v1`, requests, close: () => srv.close() })));
}

const graph = {
  nodes: [
    { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { type: 'manual' } } },
    { id: 'ask', type: 'wait_for_response', position: { x: 0, y: 130 }, data: { variable: 'question', timeout_seconds: 600 } },
    { id: 'route', type: 'ai_agent', position: { x: 0, y: 260 }, data: { mode: 'classify', system_prompt: 'Route support requests.', variable: 'topic',
      labels: [{ id: 'billing', label: 'Billing', description: 'invoices' }, { id: 'tech', label: 'Tech' }] } },
    { id: 'talk', type: 'ai_agent', position: { x: 0, y: 420 }, data: { mode: 'reply', system_prompt: 'You help with billing.' } },
    { id: 'done', type: 'end', position: { x: 0, y: 560 }, data: { text: 'Topic: {{ topic }}' } },
    { id: 'other', type: 'end', position: { x: 300, y: 420 }, data: { text: 'A person will answer' } },
  ],
  edges: [
    { id: 'e1', source: 'start', target: 'ask' },
    { id: 'e2', source: 'ask', sourceHandle: 'reply', target: 'route' },
    { id: 'e3', source: 'route', sourceHandle: 'billing', target: 'talk' },
    { id: 'e4', source: 'route', sourceHandle: 'tech', target: 'other' },
    { id: 'e5', source: 'route', sourceHandle: 'other', target: 'other' },
    { id: 'e6', source: 'route', sourceHandle: 'failed', target: 'other' },
    { id: 'e7', source: 'talk', sourceHandle: 'next', target: 'done' },
    { id: 'e8', source: 'talk', sourceHandle: 'failed', target: 'other' },
  ],
};

export const tests = [
  {
    name: 'ai agent: mode and labels in the form, label exits on the canvas, classify and reply in the simulator',
    fn: async (env) => {
      const { page } = env;
      const fake = await fakeProvider();
      try {
        await env.login();
        const prov = await apiCall(page, 'POST', '/ai/providers/', { name: 'fake', base_url: fake.url, model: 'fake-model' });
        assert.equal(prov.status, 201, prov.text);
        const created = await apiCall(page, 'POST', '/chat-flow/flows/', { name: 'Support triage', flow_data: graph });
        assert.equal(created.status, 201, created.text);
        await openFlow(env, created.json.id);

        // One exit per label, then other and failed.
        const route = node(page, 'route');
        for (const exit of ['Billing', 'Tech', 'other', 'failed']) await route.getByText(exit, { exact: true }).first().waitFor();
        await route.click();
        assert.equal(await page.getByLabel('Mode', { exact: true }).inputValue(), 'classify');
        await page.getByRole('button', { name: 'Remove labels 2' }).waitFor();
        await page.getByText('(2/20)').first().waitFor();
        await env.shot('aiagent-01-classify-form');

        await page.getByRole('tab', { name: 'Simulator' }).click();
        const sim = page.getByRole('region', { name: 'Simulator' });
        await sim.getByRole('button', { name: 'Start' }).click();
        await sim.getByLabel('Message').fill('My invoice is wrong');
        await sim.getByRole('button', { name: 'Send' }).click();
        const log = sim.getByRole('log', { name: 'Conversation' });
        await log.getByText('Happy to help with your invoice.').waitFor();
        await log.getByText('Topic: billing').waitFor();
        await env.shot('aiagent-02-simulator');

        // The contact's words reached the model as a user message only.
        // (A sprint that loses a race with another worker runs again, so
        // a call may repeat.)
        assert.ok(fake.requests.length >= 2, `${fake.requests.length} requests`);
        for (const q of fake.requests) {
          assert.equal(q.messages[0].role, 'system');
          assert.ok(!q.messages[0].content.includes('My invoice is wrong'));
          assert.equal(q.messages.at(-1).role, 'user');
        }
      } finally {
        fake.close();
      }
    },
  },
];
