// Code nodes: the script is edited in a multi-line code field, a test run
// shows its result with sample input, a syntax
// error shows with its line and column after saving, and the simulator runs
// the script on the server's script runner.
import assert from 'node:assert/strict';
import { apiCall, node, openFlow } from '../lib.mjs';

const graph = {
  nodes: [
    { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { type: 'manual' } } },
    { id: 'quote', type: 'code', position: { x: 0, y: 140 }, data: { code: "return { variables: { total: 3 * 4 + ' for ' + contact.name } };" } },
    { id: 'ok', type: 'end', position: { x: 0, y: 300 }, data: { text: 'Total {{ total }}' } },
    { id: 'ko', type: 'end', position: { x: 260, y: 300 }, data: { text: 'Sorry' } },
  ],
  edges: [
    { id: 'e1', source: 'start', target: 'quote' },
    { id: 'e2', source: 'quote', sourceHandle: 'next', target: 'ok' },
    { id: 'e3', source: 'quote', sourceHandle: 'failed', target: 'ko' },
  ],
};

export const tests = [
  {
    name: 'code: the code field, a syntax error with line and column, a run in the simulator',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      const created = await apiCall(page, 'POST', '/chat-flow/flows/', { name: 'Quote', flow_data: graph });
      assert.equal(created.status, 201, created.text);
      await openFlow(env, created.json.id);
      await node(page, 'quote').click();
      const code = page.locator('textarea.code-field');
      await code.waitFor();
      assert.match(await code.inputValue(), /contact\.name/);
      await env.shot('code-01-field');

      // Test run with sample input, on the server's script runner.
      await page.getByLabel('Contact name').fill('Zoe');
      await page.getByRole('button', { name: 'Test run' }).click();
      const result = page.getByLabel('Test run result');
      await result.getByText(/12 for Zoe/).waitFor();
      assert.match(await result.innerText(), /Exit \(first\)/);
      await env.shot('code-02-test-run');

      await code.fill("let a = 1;\nlet b = = 2;");
      await page.keyboard.press('Control+s');
      await page.getByText(/syntax error at line 2, column 9/).first().waitFor();
      await env.shot('code-03-syntax-error');

      await code.fill("return { variables: { total: 6 * 7 + ' for ' + contact.name } };");
      await page.keyboard.press('Control+s');
      await page.getByText(/syntax error/).first().waitFor({ state: 'detached' });
      await page.getByRole('tab', { name: 'Simulator' }).click();
      const sim = page.getByRole('region', { name: 'Simulator' });
      await sim.getByRole('button', { name: 'Start' }).click();
      const log = sim.getByRole('log', { name: 'Conversation' });
      await log.getByText(/Total 42 for/).waitFor();
      await env.shot('code-04-simulator');
    },
  },
];
