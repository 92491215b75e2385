// The web chat channel in a browser: the widget on Parley's test page holds
// a conversation with a published flow (buttons, a list), under the test
// page's strict CSP (run.mjs fails a test on any CSP violation); and one
// contact's messages from two channels (WhatsApp sandbox + web chat),
// merged, in one timeline.
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { createHmac } from 'node:crypto';

import { apiCall } from '../lib.mjs';

// Its own server with the sandbox: a ready WhatsApp channel to merge with.
export const serverArgs = ['--sandbox'];

const graph = {
  nodes: [
    { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { type: 'inbound', channel_types: ['webchat'] } } },
    { id: 'ask', type: 'message', position: { x: 0, y: 120 }, data: { text: 'Hello! Pick one', buttons: ['Book', 'Track'] } },
    {
      id: 'pick',
      type: 'message',
      position: { x: 0, y: 260 },
      data: { text: 'Which size?', list: { button: 'Sizes', sections: [{ title: 'Sizes', rows: [{ id: 's', title: 'Small' }, { id: 'l', title: 'Large', description: 'For two' }] }] } },
    },
    { id: 'done', type: 'end', position: { x: 0, y: 400 }, data: { text: 'Booked, thank you!' } },
    { id: 'track', type: 'end', position: { x: 300, y: 260 }, data: { text: 'Your order is on its way' } },
  ],
  edges: [
    { id: 'e1', source: 'start', target: 'ask' },
    { id: 'e2', source: 'ask', sourceHandle: 'Book', target: 'pick' },
    { id: 'e3', source: 'ask', sourceHandle: 'Track', target: 'track' },
    { id: 'e4', source: 'ask', sourceHandle: 'other', target: 'track' },
    { id: 'e5', source: 'pick', sourceHandle: 's', target: 'done' },
    { id: 'e6', source: 'pick', sourceHandle: 'l', target: 'done' },
    { id: 'e7', source: 'pick', sourceHandle: 'other', target: 'done' },
  ],
};

const shared = {};

export const tests = [
  {
    name: 'web chat: the widget on the test page holds a conversation with a published flow',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      // Connect a web chat channel from the Channels page.
      await page.goto(env.base + '/app/channels');
      await page.getByRole('button', { name: 'Add Web chat' }).click();
      const dlg = page.getByRole('dialog', { name: 'Add Web chat' });
      await dlg.getByLabel('Name').fill('Website');
      await dlg.getByLabel('Allowed origins').fill('https://shop.example.com');
      await dlg.getByRole('button', { name: 'Connect' }).click();
      const done = page.getByRole('dialog', { name: 'Website is connected' });
      await done.getByLabel('Embed on your site').waitFor();
      const snippet = await done.getByLabel('Embed on your site').inputValue();
      assert.match(snippet, /<script src="http:\/\/127\.0\.0\.1:\d+\/webchat\/widget\.js" data-channel="[^"]+" async><\/script>/);
      await env.shot('webchat-01-connected');
      await done.getByRole('button', { name: 'Done' }).click();
      const section = page.getByRole('region', { name: 'Channel Website' });
      await section.getByText('https://shop.example.com').waitFor();
      await env.shot('webchat-02-channels');
      shared.channelId = /data-channel="([^"]+)"/.exec(snippet)[1];

      // The flow, bound to this web chat account in its settings (allowed
      // while it is a draft), then published.
      const f = await apiCall(page, 'POST', '/chat-flow/flows/', { name: 'Web shop', flow_data: graph });
      assert.equal(f.status, 201, f.text);
      shared.flowId = f.json.id;
      await page.goto(`${env.base}/app/flows/${f.json.id}`);
      await page.locator('.react-flow__node').first().waitFor();
      await page.getByRole('button', { name: 'Settings', exact: true }).click();
      const settings = page.getByRole('dialog', { name: 'Flow settings' });
      const bind = settings.getByLabel('Bind account');
      // Only accounts of the trigger's channel type are offered.
      // (serve --sandbox has its own web chat channel too.)
      assert.deepEqual((await bind.locator('option').allTextContents()).sort(), ['Every webchat account', 'Sandbox Web chat (webchat)', 'Website (webchat)']);
      await bind.selectOption({ label: 'Website (webchat)' });
      await env.shot('webchat-02b-bind-account');
      await settings.getByRole('button', { name: 'Save settings' }).click();
      await page.getByText('Settings saved').waitFor();
      const pub = await apiCall(page, 'POST', `/chat-flow/flows/${f.json.id}/publish/`, {});
      assert.equal(pub.status, 200, pub.text);
      assert.equal(pub.json.channel_id, shared.channelId);
      // Published, the binding cannot change (409).
      const rebind = await apiCall(page, 'PUT', `/chat-flow/flows/${f.json.id}/`, { version: pub.json.version, channel_id: '' });
      assert.equal(rebind.status, 409, rebind.text);

      // The test page, opened from the channel's link: a visitor's view.
      await page.goto(env.base + '/app/channels');
      const [visitor] = await Promise.all([env.context.waitForEvent('page'), section.getByRole('link', { name: 'Test page of Website' }).click()]);
      const csp = [];
      visitor.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) csp.push(m.text());
      });
      await visitor.waitForLoadState();
      const chat = visitor.getByRole('dialog');
      await chat.getByLabel('Message').fill('hello');
      await chat.getByRole('button', { name: 'Send' }).click();
      await chat.getByText('Hello! Pick one').waitFor();
      await shotOf(visitor, 'webchat-03-buttons');
      await chat.getByRole('button', { name: 'Book' }).click();
      await chat.getByText('Which size?').waitFor();
      await chat.getByRole('button', { name: 'Sizes' }).click();
      await chat.getByRole('button', { name: /Large/ }).click();
      await chat.getByText('Booked, thank you!').waitFor();
      await shotOf(visitor, 'webchat-04-conversation');
      // The buttons of an answered message cannot be pressed again.
      assert.equal(await chat.getByRole('button', { name: 'Book' }).isDisabled(), true);

      // History on reconnect: a reload shows the whole conversation again.
      await visitor.reload();
      await visitor.getByRole('dialog').getByText('Booked, thank you!').waitFor();
      assert.equal(await visitor.getByRole('dialog').getByText('Hello! Pick one').count(), 1);
      await shotOf(visitor, 'webchat-05-after-reload');
      assert.deepEqual(csp, [], 'the widget needs nothing the strict CSP forbids');

      // The agent sees the conversation in Parley.
      const contacts = await apiCall(page, 'GET', '/contacts/?search=web%20visitor');
      assert.equal(contacts.status, 200, contacts.text);
      assert.equal(contacts.json.results.length, 1);
      shared.visitorContact = contacts.json.results[0].id;
    },
  },
  {
    name: 'web chat: one contact on WhatsApp and the web chat, merged, in one timeline',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      assert.ok(shared.visitorContact, 'the widget test runs first');
      // A customer writes on the sandbox WhatsApp number, as Meta would
      // deliver it (signed with the sandbox app's secret).
      const chans = await apiCall(page, 'GET', '/channels/');
      const wa = chans.json.results.find((c) => c.type === 'whatsapp');
      const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: wa.config.waba_id, changes: [{ field: 'messages', value: {
        messaging_product: 'whatsapp', metadata: { display_phone_number: '15550000000', phone_number_id: wa.config.phone_number_id },
        contacts: [{ profile: { name: 'Ana Lima' }, wa_id: '15557654321' }],
        messages: [{ from: '15557654321', id: 'wamid.E2E.WEBCHAT1', timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: 'Hi from WhatsApp' } }] } }] }] });
      const res = await fetch(`${env.base}/webhooks/whatsapp/${wa.id}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': 'sha256=' + createHmac('sha256', 'parley-sandbox-app-secret').update(body).digest('hex') },
        body,
      });
      assert.equal(res.status, 200, await res.text());

      await page.goto(env.base + '/app/conversations');
      await page.getByRole('navigation', { name: 'Contacts' }).getByText('Ana Lima').click();
      const contact = page.getByRole('region', { name: 'Contact' });
      await contact.getByRole('button', { name: 'Merge another contact…' }).click();
      const dlg = page.getByRole('dialog', { name: 'Merge into Ana Lima' });
      await dlg.getByLabel('Find the contact to merge').fill('web visitor');
      await dlg.getByRole('button', { name: /^Merge Web visitor/ }).click();
      await page.getByText(/Merged Web visitor .* into Ana Lima/).waitFor();
      // The merged contact leaves the list.
      await page.getByRole('navigation', { name: 'Contacts' }).getByText(/Web visitor/).waitFor({ state: 'detached' });

      // One timeline: both channels' messages, each labelled.
      const log = page.getByRole('log', { name: 'Message history' });
      await log.getByText('Hi from WhatsApp').waitFor();
      await log.getByText('Hello! Pick one').waitFor();
      await log.getByText('Booked, thank you!').waitFor();
      const labels = await log.getByLabel('Channel').allTextContents();
      assert.ok(labels.includes('Sandbox WhatsApp · whatsapp'), labels.join(', '));
      assert.ok(labels.includes('Website · webchat'), labels.join(', '));
      const addresses = await contact.getByRole('list', { name: 'Addresses' }).textContent();
      assert.match(addresses, /whatsapp/);
      assert.match(addresses, /webchat/);
      assert.match(addresses, /verified phone/);
      await env.shot('webchat-06-one-timeline');
      // The visitor's contact is gone: merged.
      const gone = await apiCall(page, 'GET', `/contacts/${shared.visitorContact}/`);
      assert.equal(gone.status, 404);
    },
  },
];

// shotOf saves a screenshot of a page other than env.page (the visitor's)
// beside the others, in build/ui-screenshots/.
async function shotOf(p, name) {
  await p.screenshot({ path: join(resolve(import.meta.dirname, '../../..'), 'build', 'ui-screenshots', `${name}.png`) });
}
