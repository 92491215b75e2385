// The first hour (issue 13), API side seen in the browser: a sandbox
// customer's conversation and the flows show names, not IDs; /docs renders
// its Markdown; /favicon.ico exists. Runs on a server of its own started
// with --sandbox (the sandbox channel and its booking flow).
import assert from 'node:assert/strict';

import { apiCall } from '../lib.mjs';

export const serverArgs = ['--sandbox'];

const customer = '15550009999';

/** Plays the customer through the server's /sandbox/ routes (what `parley sandbox send` does). */
async function say(env, channelId, body) {
  const res = await fetch(env.base + '/sandbox/messages/', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ channel_id: channelId, from: customer, ...body }),
  });
  const raw = await res.text();
  assert.equal(res.status, 201, raw);
  const sent = JSON.parse(raw);
  // Wait for the bot's answer, as the CLI does.
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${env.base}/sandbox/replies/?channel_id=${channelId}&to=${customer}&after=${sent.after}`);
    const page = await r.json();
    if (page.items?.length) return page.items;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  throw new Error('the bot did not answer ' + JSON.stringify(body));
}

export const tests = [
  {
    name: 'firstapi: a sandbox customer asks for a human; the inbox session names its flow',
    fn: async (env) => {
      const { page } = env;
      const chans = await (await fetch(env.base + '/sandbox/channels/')).json();
      // One sandbox channel of each type; this walk is the WhatsApp one.
      const wa = chans.items.filter((c) => c.type === 'whatsapp');
      assert.equal(wa.length, 1, JSON.stringify(chans));
      const channelId = wa[0].id;
      const first = await say(env, channelId, { text: 'book' });
      assert.match(first[0].text, /book an appointment/);
      assert.deepEqual(first[0].options.map((o) => o.title), ['Book now', 'Talk to a human', 'No thanks']);
      await say(env, channelId, { button: '2' }); // "Talk to a human", by its number
      await env.login();
      const waiting = await apiCall(page, 'GET', '/contacts/?waiting_for_human=true');
      assert.equal(waiting.status, 200);
      assert.equal(waiting.json.results.length, 1, waiting.text);
      assert.equal(waiting.json.results[0].waiting_for_human, true);
      await page.goto(`${env.base}/app/conversations/${waiting.json.results[0].id}`);
      const session = page.getByRole('region', { name: 'Current session' });
      const link = session.getByRole('link', { name: 'Appointment booking (sandbox)' });
      await link.waitFor();
      assert.match(await link.getAttribute('href'), /\/flows\/[0-9a-f-]{36}$/);
      await page.getByRole('log', { name: 'Message history' }).getByText(/Connecting you with our team/).waitFor();
      await env.shot('firstapi-01-conversation-session-flow-name');
    },
  },
  {
    name: 'firstapi: the flow list and the revision history show who, by name',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      // The sandbox created and published its flow: "Parley", not "system".
      const row = page.getByRole('row').filter({ hasText: 'Appointment booking (sandbox)' });
      await row.getByText('by Parley').waitFor();
      // A flow published by the admin shows the admin's name and e-mail.
      const made = await apiCall(page, 'POST', '/chat-flow/flows/', { name: 'Named flow', is_active: true });
      assert.equal(made.status, 201, made.text);
      await page.reload();
      const mine = page.getByRole('row').filter({ hasText: 'Named flow' });
      await mine.getByText('by Admin (admin@parley.local)').waitFor();
      assert.equal(await page.getByText(/user:[0-9a-f]{8}-/).count(), 0, 'no raw user IDs on the page');
      await env.shot('firstapi-02-flow-list-names');
      await page.goto(`${env.base}/app/flows/${made.json.id}`);
      await page.getByRole('tab', { name: 'History' }).click();
      await page.getByRole('list', { name: 'Revisions' }).getByText(/by Admin \(admin@parley\.local\)/).waitFor();
      await env.shot('firstapi-03-revisions-names');
    },
  },
  {
    name: 'firstapi: /docs renders Markdown; /favicon.ico is an icon',
    fn: async (env) => {
      const { page } = env;
      await page.goto(env.base + '/docs');
      const intro = page.locator('#intro');
      await intro.locator('code', { hasText: 'Authorization: Bearer <token>' }).waitFor();
      assert.ok(!(await intro.innerText()).includes('`'), 'no raw Markdown backticks in the introduction');
      await env.shot('firstapi-04-docs');
      const icon = await fetch(env.base + '/favicon.ico');
      assert.equal(icon.status, 200);
      assert.equal(icon.headers.get('content-type'), 'image/x-icon');
      const bytes = new Uint8Array(await icon.arrayBuffer());
      assert.deepEqual([...bytes.slice(0, 4)], [0, 0, 1, 0], 'an ICO header');
    },
  },
];
