// The project database: create a table on the Data page, import a CSV into
// it (with progress and its outcome), a flow whose data node looks the
// simulator's contact up by phone, and the SQL console querying the table.
import assert from 'node:assert/strict';
import { apiCall, node, openFlow } from '../lib.mjs';

// The simulator's contact has this phone (ui/src/editor/Simulator.tsx).
const PHONE = '+15550100000';

const graph = {
  nodes: [
    { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { type: 'manual' } } },
    {
      id: 'find',
      type: 'data',
      position: { x: 0, y: 140 },
      data: { table: 'customers', operation: 'lookup_one', where: [{ column: 'phone', op: 'eq', value: '{{ contact.phone }}' }], variable: 'customer' },
    },
    { id: 'hello', type: 'end', position: { x: 0, y: 300 }, data: { text: 'Hello {{ customer.name }}, your plan is {{ customer.plan }}' } },
    { id: 'who', type: 'end', position: { x: 260, y: 300 }, data: { text: 'Who are you?' } },
    { id: 'ko', type: 'end', position: { x: 520, y: 300 }, data: { text: 'Sorry' } },
  ],
  edges: [
    { id: 'e1', source: 'start', target: 'find' },
    { id: 'e2', source: 'find', sourceHandle: 'found', target: 'hello' },
    { id: 'e3', source: 'find', sourceHandle: 'not_found', target: 'who' },
    { id: 'e4', source: 'find', sourceHandle: 'failed', target: 'ko' },
  ],
};

export const tests = [
  {
    name: 'projdb: create a table, import a CSV, a data node finds the contact by phone, the console queries it',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await page.goto(`${env.base}/app/data`);
      await page.getByRole('heading', { name: 'Data', exact: true }).waitFor();

      // Create a table with typed columns.
      await page.getByRole('button', { name: 'New table' }).click();
      const dlg = page.getByRole('dialog', { name: 'New table' });
      await dlg.getByLabel('Table name').fill('customers');
      await dlg.getByLabel('Column 1 name').fill('phone');
      await dlg.getByLabel('Column 1 primary key').check();
      await dlg.getByRole('button', { name: 'Add column' }).click();
      await dlg.getByLabel('Column 2 name').fill('name');
      await dlg.getByRole('button', { name: 'Add column' }).click();
      await dlg.getByLabel('Column 3 name').fill('plan');
      await dlg.getByRole('button', { name: 'Add column' }).click();
      await dlg.getByLabel('Column 4 name').fill('credit');
      await dlg.getByLabel('Column 4 type').selectOption('number');
      await env.shot('projdb-01-new-table');
      await dlg.getByRole('button', { name: 'Create table' }).click();
      await page.getByRole('heading', { name: 'customers' }).waitFor();
      await page.getByTestId('db-status').getByText('ready').waitFor();

      // Import a CSV: the outcome says what was inserted and what was not.
      const csv = `phone,name,plan,credit\n${PHONE},Ada,gold,12.5\n+15550100001,Bob,silver,3\n+15550100002,Cy,bronze,lots\n`;
      await page.getByLabel('Import CSV').setInputFiles({ name: 'customers.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
      const result = page.getByTestId('import-result');
      await result.waitFor();
      assert.match(await result.innerText(), /Imported 2 rows; 1 skipped/);
      assert.match(await result.innerText(), /line 4: .*not a number/);
      const grid = page.getByRole('table', { name: 'Rows of customers' });
      await grid.getByText('Ada').waitFor();
      await env.shot('projdb-02-imported');

      // Filter and sort the rows.
      await page.getByLabel('Filter column').selectOption('plan');
      await page.getByLabel('Filter value').fill('silver');
      await page.getByRole('button', { name: 'Add filter' }).click();
      await page.getByTestId('rows-total').getByText('of 1').waitFor();
      assert.equal(await grid.getByText('Ada').count(), 0);
      await page.getByRole('button', { name: 'plan:eq:silver ×' }).click();
      await page.getByTestId('rows-total').getByText('of 2').waitFor();

      // A flow with a data node finds the simulator's contact by phone.
      const created = await apiCall(page, 'POST', '/chat-flow/flows/', { name: 'Lookup', flow_data: graph });
      assert.equal(created.status, 201, created.text);
      assert.deepEqual(created.json.problems ?? [], [], JSON.stringify(created.json.problems));
      await openFlow(env, created.json.id);
      await node(page, 'find').click();
      await page.getByLabel("Table of the project's database").waitFor();
      assert.match(await page.locator('.node-form').innerText(), /Columns: phone \(text\), name \(text\), plan \(text\), credit \(number\)/);
      await env.shot('projdb-03-data-node');
      await page.getByRole('tab', { name: 'Simulator' }).click();
      const sim = page.getByRole('region', { name: 'Simulator' });
      await sim.getByRole('button', { name: 'Start' }).click();
      await sim.getByRole('log', { name: 'Conversation' }).getByText('Hello Ada, your plan is gold').waitFor();
      await env.shot('projdb-04-simulator');

      // The console runs SQL on the project's database only.
      await page.goto(`${env.base}/app/data`);
      await page.getByLabel('SQL').fill('SELECT name, credit FROM customers ORDER BY credit DESC');
      await page.getByRole('button', { name: 'Run' }).click();
      const out = page.getByRole('table', { name: 'Query result' });
      await out.getByText('Ada').waitFor();
      assert.match(await page.getByTestId('sql-result').innerText(), /2 rows/);
      await page.getByLabel('SQL').fill('SELECT * FROM api_tokens');
      await page.getByRole('button', { name: 'Run' }).click();
      await page.getByRole('alert').getByText(/api_tokens/).waitFor();
      await env.shot('projdb-05-console');
    },
  },
];
