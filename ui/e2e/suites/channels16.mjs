// Issue #16's "Done when" in the browser, on a `serve --sandbox` server:
// for Messenger, Viber and the web chat, a newcomer creates a flow with that trigger
// (New flow › Blank canvas), binds it to the sandbox account in the flow's
// settings, publishes it, writes as the customer through the /sandbox/
// API (which signs the platform's webhook) or in the web chat's widget on
// its test page, gets the flow's answer, and sees the conversation in the inbox labelled with its channel.
import assert from 'node:assert/strict';

import { apiCall } from '../lib.mjs';

export const serverArgs = ['--sandbox'];

const walk = [
  { type: 'messenger', trigger: 'Inbound Messenger message', channel: 'Sandbox Facebook Messenger', from: '6200000000000042', name: 'Mia Messenger' },
  { type: 'viber', trigger: 'Inbound Viber message', channel: 'Sandbox Viber bot', from: 'vb-user-0042', name: 'Vic Viber' },
  // The web visitor writes in the widget on the sandbox web chat's test
  // page (its allowed origin is the server's own).
  { type: 'webchat', trigger: 'Web chat visitor message', channel: 'Sandbox Web chat', from: 'webchat', widget: true },
];

export const tests = walk.map((w) => ({
  name: `channels16: a ${w.type} flow created, bound, published and talked to in the sandbox`,
  fn: async (env) => {
    const { page } = env;
    await env.login();
    const chans = await apiCall(page, 'GET', '/sandbox/channels/');
    assert.equal(chans.status, 200, chans.text);
    const ch = chans.json.items.find((c) => c.type === w.type);
    assert.ok(ch, `no sandbox ${w.type} channel: ${chans.text}`);

    // New flow › Blank canvas with the channel's trigger.
    await page.goto(env.base + '/app/');
    await page.getByRole('button', { name: 'New flow' }).click();
    const dlg = page.getByRole('dialog', { name: 'New flow' });
    await dlg.getByRole('tab', { name: 'Blank canvas' }).click();
    await dlg.getByLabel('Flow name').fill(`Hello ${w.type}`);
    await dlg.getByText(w.trigger, { exact: true }).click();
    assert.equal(await dlg.getByRole('radio', { name: new RegExp(w.trigger) }).isChecked(), true);
    await env.shot(`channels16-${w.type}-01-new-flow`);
    await dlg.getByRole('button', { name: 'Create flow' }).click();
    await page.locator('.react-flow__node').first().waitFor();
    const flowId = page.url().split('/flows/')[1];
    assert.ok(flowId);

    // Something to say: the End node's text (through the API, as the
    // node form is covered by the editor's own tests).
    let f = await apiCall(page, 'GET', `/chat-flow/flows/${flowId}/`);
    assert.deepEqual(f.json.flow_data.nodes.find((n) => n.id === 'start').data.trigger.channel_types, [w.type]);
    f.json.flow_data.nodes.find((n) => n.id === 'end').data.text = `Hello from the ${w.type} flow`;
    const saved = await apiCall(page, 'PUT', `/chat-flow/flows/${flowId}/`, { version: f.json.version, flow_data: f.json.flow_data });
    assert.equal(saved.status, 200, saved.text);
    await page.reload();
    await page.locator('.react-flow__node').first().waitFor();

    // Bind the sandbox account in the flow's settings: only accounts of
    // the trigger's type are offered.
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    const settings = page.getByRole('dialog', { name: 'Flow settings' });
    const bind = settings.getByLabel('Bind account');
    await bind.locator('option', { hasText: w.channel }).waitFor({ state: 'attached' });
    const options = await bind.locator('option').allTextContents();
    assert.ok(options.includes(`${w.channel} (${w.type})`), options.join(', '));
    assert.ok(options.every((o) => o.startsWith('Every') || o.endsWith(`(${w.type})`)), options.join(', '));
    await bind.selectOption({ label: `${w.channel} (${w.type})` });
    await env.shot(`channels16-${w.type}-02-bind`);
    await settings.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Settings saved').waitFor();

    // Publish.
    await page.getByRole('button', { name: 'Save and publish' }).click();
    await page.getByText('Published revision 1').waitFor();
    f = await apiCall(page, 'GET', `/chat-flow/flows/${flowId}/`);
    assert.equal(f.json.status, 'published');
    assert.equal(f.json.channel_id, ch.id);

    if (w.widget) {
      const visitor = await env.context.newPage();
      await visitor.goto(`${env.base}/webchat/${ch.id}/test`);
      const chat = visitor.getByRole('dialog');
      await chat.getByLabel('Message').fill('hello there');
      await chat.getByRole('button', { name: 'Send' }).click();
      await chat.getByText(`Hello from the ${w.type} flow`).waitFor();
      await visitor.screenshot({ path: new URL(`../../../build/ui-screenshots/channels16-${w.type}-02b-widget.png`, import.meta.url).pathname });
      await visitor.close();
    } else {
      // The customer writes, through the sandbox (a signed webhook of the
      // platform), and the flow's answer reaches the fake platform.
      const sent = await apiCall(page, 'POST', '/sandbox/messages/', { channel_id: ch.id, from: w.from, name: w.name, text: 'hello there' });
      assert.equal(sent.status, 201, sent.text);
      let replies = [];
      for (let i = 0; i < 50 && !replies.some((r) => r.text === `Hello from the ${w.type} flow`); i++) {
        await page.waitForTimeout(200);
        const r = await apiCall(page, 'GET', `/sandbox/replies/?channel_id=${ch.id}&to=${w.from}&after=${sent.json.after}`);
        replies = r.json.items ?? [];
      }
      assert.ok(replies.some((r) => r.text === `Hello from the ${w.type} flow`), JSON.stringify(replies));
    }

    // The inbox: the conversation, labelled with its channel.
    await page.goto(env.base + '/app/conversations');
    // (A Messenger webhook carries no name: such a contact is listed as
    // "Unnamed contact"; opened here by its address.)
    const contacts = await apiCall(page, 'GET', '/contacts/?limit=100');
    let contact = null;
    for (const c of contacts.json.results) {
      const d = await apiCall(page, 'GET', `/contacts/${c.id}/`);
      if (JSON.stringify(d.json.urns).includes(w.from)) contact = c;
    }
    assert.ok(contact, `no contact with the address ${w.from}`);
    const label = contact.name || contact.phone || 'Unnamed contact';
    if (w.type === 'viber') assert.equal(label, w.name, 'Viber names the sender');
    await page.getByRole('navigation', { name: 'Contacts' }).getByText(label, { exact: true }).first().click();
    await page.getByRole('heading', { name: label }).waitFor();
    const log = page.getByRole('log', { name: 'Message history' });
    await log.getByText('hello there').waitFor();
    await log.getByText(`Hello from the ${w.type} flow`).waitFor();
    const labels = await log.getByLabel('Channel').allTextContents();
    assert.ok(labels.includes(`${w.channel} · ${w.type}`), labels.join(', '));
    await env.shot(`channels16-${w.type}-03-inbox`);
  },
}));
