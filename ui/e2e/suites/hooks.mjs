// Event webhooks (Settings → Event webhooks) and, with the sandbox, a
// WhatsApp number connected through the embedded-signup imitation and its
// business profile.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { apiCall } from '../lib.mjs';

// Its own server with the sandbox (a ready WhatsApp channel; the fake Graph
// API answers the embedded signup), letting event deliveries reach this
// process's receiver on loopback, as an operator would with PARLEY_HTTP_ALLOW.
export const serverArgs = ['--sandbox'];
export const serverEnv = { PARLEY_HTTP_ALLOW: '127.0.0.1/32,127.0.0.9' };

// The Node.js receiver docs/webhooks.md shows, run as it is written there.
function docsVerifier() {
  const doc = readFileSync(join(import.meta.dirname, '../../../docs/webhooks.md'), 'utf8');
  const block = /### Node\.js[\s\S]*?```js\n([\s\S]*?)```/.exec(doc)[1];
  return new Function('require', `${block}\nreturn verifyParley;`)(createRequire(import.meta.url));
}

// receiver is a local endpoint verifying every delivery with the docs' code.
async function receiver(secret) {
  const verify = docsVerifier();
  const got = [];
  const srv = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try {
        got.push(verify(req.headers['parley-signature'], Buffer.concat(chunks), secret.value));
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"received":true}');
      } catch (err) {
        got.push({ refused: String(err) });
        res.writeHead(401).end(String(err));
      }
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${srv.address().port}/parley-events`, got, close: () => srv.close() };
}

async function waitFor(what, cond, ms = 15000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out waiting for ' + what);
}

export const tests = [
  {
    name: 'hooks: subscribe a local endpoint in Settings, see signed deliveries and their attempts, redeliver',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      const secret = { value: '' };
      const recv = await receiver(secret);
      try {
        await page.goto(env.base + '/app/settings');
        const panel = page.getByRole('region', { name: 'Event webhooks' });
        await panel.getByLabel('Endpoint URL').fill(recv.url);
        await panel.getByLabel('Description').fill('local receiver');
        await env.shot('hooks-01-form');
        await panel.getByRole('button', { name: 'Add subscription' }).click();
        const field = panel.getByLabel(/Signing secret for .* \(shown once\)/);
        await field.waitFor();
        secret.value = await field.inputValue();
        assert.match(secret.value, /^whsec_[0-9a-f]{64}$/);
        await env.shot('hooks-02-secret');

        // A customer writes on the sandbox number, as Meta would deliver it.
        const chans = await apiCall(page, 'GET', '/channels/');
        const wa = chans.json.results.find((c) => c.type === 'whatsapp');
        const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: wa.config.waba_id, changes: [{ field: 'messages', value: {
          messaging_product: 'whatsapp', metadata: { display_phone_number: '15550000000', phone_number_id: wa.config.phone_number_id },
          contacts: [{ profile: { name: 'Hook Tester' }, wa_id: '15550001111' }],
          messages: [{ from: '15550001111', id: 'wamid.E2E.HOOKS1', timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: 'hello hooks' } }] } }] }] });
        const res = await fetch(`${env.base}/webhooks/whatsapp/${wa.id}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': 'sha256=' + createHmac('sha256', 'parley-sandbox-app-secret').update(body).digest('hex') },
          body,
        });
        assert.equal(res.status, 200, await res.text());
        await waitFor('a verified message.received', () => recv.got.some((e) => e.type === 'message.received' && e.data?.text === 'hello hooks'));
        assert.ok(!recv.got.some((e) => e.refused), JSON.stringify(recv.got));

        // The delivery log: the event, delivered at the first attempt.
        await panel.getByRole('button', { name: `Deliveries of ${recv.url}` }).click();
        const log = page.getByRole('table', { name: 'Delivery log' });
        const row = log.locator('tr.delivery-row', { hasText: 'message.received' }).first();
        await row.getByText('delivered').waitFor();
        await row.getByRole('button', { name: 'Attempts' }).click();
        const attempts = page.getByRole('table', { name: 'Attempts' });
        await attempts.getByText('HTTP 200').first().waitFor();
        await attempts.getByText('{"received":true}').first().waitFor();
        await env.shot('hooks-03-deliveries');

        // Redeliver: a second, manual attempt reaches the receiver.
        const before = recv.got.filter((e) => e.type === 'message.received').length;
        await page.getByRole('button', { name: 'Redeliver now' }).click();
        await page.getByText(/Redelivered: HTTP 200/).waitFor();
        await attempts.getByText(/\(manual\)/).waitFor();
        await waitFor('the redelivery', () => recv.got.filter((e) => e.type === 'message.received').length === before + 1);
        await env.shot('hooks-04-redelivered');
      } finally {
        recv.close();
      }
    },
  },
  {
    name: 'hooks: connect a number through the embedded-signup stand-in (a wrong PIN, then retry) and edit its business profile',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await page.goto(env.base + '/app/channels');
      await page.getByRole('button', { name: 'Connect with Facebook' }).click();
      const standIn = page.getByRole('dialog', { name: 'Meta signup (sandbox stand-in)' });
      await standIn.getByText('Sandbox Bakery').waitFor();
      await env.shot('signup-01-stand-in');
      await standIn.getByRole('button', { name: 'Finish signup' }).click();

      const dlg = page.getByRole('dialog', { name: 'Connect the WhatsApp number' });
      await dlg.getByLabel('Two-step verification PIN (6 digits)').fill('999999');
      await dlg.getByRole('button', { name: 'Connect' }).click();
      const steps = dlg.getByRole('list', { name: 'Signup steps' });
      await steps.getByText(/PIN Mismatch/).waitFor();
      assert.match(await steps.innerText(), /done\s+Exchange the code[\s\S]*done\s+Subscribe the app[\s\S]*failed\s+Register the number[\s\S]*pending\s+Create the channel/);
      await env.shot('signup-02-failed-step');
      await dlg.getByLabel('Two-step verification PIN (6 digits)').fill('123456');
      await dlg.getByRole('button', { name: 'Retry from the failed step' }).click();
      await dlg.getByRole('button', { name: 'Done' }).waitFor();
      assert.doesNotMatch(await steps.innerText(), /failed|pending/);
      await env.shot('signup-03-done');
      await dlg.getByRole('button', { name: 'Done' }).click();

      // The new channel, and its business profile.
      const channel = page.getByRole('region', { name: 'Channel Sandbox Bakery' });
      await channel.waitFor();
      await channel.getByRole('button', { name: 'Profile of Sandbox Bakery' }).click();
      const prof = page.getByRole('dialog', { name: 'Business profile' });
      const preview = prof.getByLabel('Profile preview');
      await preview.getByText('Sandbox Bakery').waitFor();
      await prof.getByLabel('About').fill('Fresh bread every morning');
      await prof.getByLabel('Address').fill('1 Baker Street');
      await prof.getByLabel('Websites (one per line, at most 2)').fill('https://bakery.example');
      await prof.getByLabel('Category').selectOption('RESTAURANT');
      await prof.getByRole('button', { name: 'Save profile' }).click();
      await preview.getByText('Fresh bread every morning').waitFor();
      await preview.getByText('📍 1 Baker Street').waitFor();
      await preview.getByText('🌐 https://bakery.example').waitFor();

      // A display name waits for Meta's review, then shows as approved.
      await prof.getByLabel('New display name').fill('Sunrise Bakery');
      await prof.getByRole('button', { name: 'Request' }).click();
      const reqs = prof.getByRole('table', { name: 'Display name requests' });
      await reqs.getByText('pending').waitFor();
      await env.shot('signup-04-profile-pending');
      await waitFor('the review', async () => {
        await prof.getByRole('button', { name: 'Refresh' }).click();
        await page.waitForTimeout(300);
        return (await reqs.getByText('approved').count()) > 0;
      }, 20000);
      await preview.getByText('Sunrise Bakery').waitFor();
      await env.shot('signup-05-profile-approved');
    },
  },
];
