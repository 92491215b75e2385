// The web chat channel in a browser: the widget on Parley's test page holds
// a conversation with a published flow (buttons, a list), under the test
// page's strict CSP (run.mjs fails a test on any CSP violation); and one
// contact's messages from two channels (WhatsApp sandbox + web chat),
// merged, in one timeline.
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';

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

      const f = await apiCall(page, 'POST', '/chat-flow/flows/', { name: 'Web shop', is_active: true, flow_data: graph });
      assert.equal(f.status, 201, f.text);

      // The test page, opened from the channel's link: a visitor's view.
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
];

// shotOf saves a screenshot of a page other than env.page (the visitor's)
// beside the others, in build/ui-screenshots/.
async function shotOf(p, name) {
  await p.screenshot({ path: join(resolve(import.meta.dirname, '../../..'), 'build', 'ui-screenshots', `${name}.png`) });
}
