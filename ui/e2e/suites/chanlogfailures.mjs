// The channel log on a server that records failures only
// (PARLEY_CHANNEL_LOG=failures, for deployments at hundreds of messages a
// second): a conversation that goes well leaves nothing, the log's dialog
// says why it is empty, and a refused webhook is there. Runs on a server
// of its own, with --sandbox (a WhatsApp channel whose fake answers).
import assert from 'node:assert/strict';

import { apiCall } from '../lib.mjs';

export const serverArgs = ['--sandbox'];
export const serverEnv = { PARLEY_CHANNEL_LOG: 'failures' };

const customer = '15550008888';

export const tests = [
  {
    name: 'chanlogfailures: only failures are logged, and the log says so',
    fn: async (env) => {
      const { page } = env;
      const chans = await (await fetch(env.base + '/sandbox/channels/')).json();
      const wa = chans.items.find((c) => c.type === 'whatsapp');
      assert.ok(wa, JSON.stringify(chans));
      // A conversation that goes well: the customer writes, the bot answers.
      const res = await fetch(env.base + '/sandbox/messages/', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ channel_id: wa.id, from: customer, text: 'book' }),
      });
      assert.equal(res.status, 201, await res.text());
      const { after } = await res.json().catch(() => ({}));
      for (let i = 0; ; i++) {
        const r = await fetch(`${env.base}/sandbox/replies/?channel_id=${wa.id}&to=${customer}&after=${after ?? ''}`);
        const got = await r.json();
        if (got.items?.length) break;
        if (i > 100) throw new Error('the bot did not answer');
        await new Promise((ok) => setTimeout(ok, 100));
      }
      await env.login();
      const ch = (await apiCall(page, 'GET', `/channels/${wa.id}`)).json;
      const before = await apiCall(page, 'GET', `/channels/${wa.id}/logs/`);
      assert.equal(before.json.recording, 'failures', before.text);
      assert.equal(before.json.results.length, 0, 'a conversation that went well was logged: ' + before.text);

      await page.getByRole('link', { name: 'Channels' }).click();
      await page.getByRole('button', { name: `Logs of ${ch.name}` }).click();
      const logs = page.getByRole('dialog', { name: `Log of ${ch.name}` });
      await logs.getByRole('note').getByText(/records failures only/).waitFor();
      await logs.getByText('No failures logged').waitFor();
      // Every entry is a failure here: the "failures only" filter would change nothing, so it is not offered.
      assert.equal(await logs.getByRole('checkbox', { name: 'failures only' }).count(), 0, 'the failures-only filter is shown where it changes nothing');
      await env.shot('chanlogfailures-01-empty-log-says-failures-only');

      // A webhook with a wrong signature is refused: a failure, logged.
      const refused = await fetch(`${env.base}/webhooks/whatsapp/${wa.id}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': 'sha256=00' },
        body: '{"object":"whatsapp_business_account","entry":[]}',
      });
      assert.ok(refused.status >= 400, `a badly signed webhook answered ${refused.status}`);
      for (let i = 0; ; i++) {
        const l = await apiCall(page, 'GET', `/channels/${wa.id}/logs/`);
        if (l.json.results.length > 0) break;
        if (i > 100) throw new Error('the refused webhook is not in the log: ' + l.text);
        await page.waitForTimeout(100);
      }
      await logs.getByRole('button', { name: 'Refresh' }).click();
      const entry = logs.locator('details.log-entry').first();
      await entry.waitFor();
      await entry.locator('summary').getByText('webhook', { exact: true }).waitFor();
      await entry.locator('summary').getByText(/signature is missing or does not match/).waitFor();
      await logs.getByRole('note').getByText(/records failures only/).waitFor();
      await env.shot('chanlogfailures-02-refused-webhook-logged');
      await logs.getByRole('button', { name: 'Close' }).click();
    },
  },
];
