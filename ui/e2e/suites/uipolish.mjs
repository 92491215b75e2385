// Small UI fixes, each checked here: the login page's theme switch, a
// fieldset's frame in dark mode, and a conversation's session panel that
// follows a call to its end without a reload.
import assert from 'node:assert/strict';

import { apiCall, callListener, fakeChatModel, useOnlyModel } from '../lib.mjs';

export const serverArgs = ['--sandbox'];

// The colour a CSS variable of the page's theme resolves to, as computed.
const varColour = (page, name) =>
  page.evaluate((n) => {
    const d = document.createElement('div');
    d.style.color = `var(${n})`;
    document.body.append(d);
    const c = getComputedStyle(d).color;
    d.remove();
    return c;
  }, name);

export const tests = [
  {
    name: 'uipolish: the login page has the theme switch, and it applies at once',
    fn: async (env) => {
      const { page } = env;
      await page.context().clearCookies();
      await page.goto(`${env.base}/app/`);
      await page.evaluate(() => localStorage.removeItem('parley:theme'));
      await page.reload();
      await page.getByRole('heading', { name: 'Log in to Parley' }).waitFor();
      const sw = page.getByRole('combobox', { name: 'Theme' });
      await sw.selectOption('dark');
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
      const bg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
      assert.equal(bg, await varColour(page, '--bg'));
      await page.screenshot({ path: '/tmp/uipolish-login-dark.png' });
      await env.shot('uipolish-1-login-dark');
      await sw.selectOption('light');
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
      await page.screenshot({ path: '/tmp/uipolish-login-light.png' });
      // The choice is the one the app keeps: after logging in it still holds.
      await sw.selectOption('dark');
      await env.login();
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
      assert.equal(await page.getByRole('combobox', { name: 'Theme' }).inputValue(), 'dark');
    },
  },
  {
    name: "uipolish: in dark mode a fieldset's frame is the theme's line colour",
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await page.evaluate(() => localStorage.setItem('parley:theme', 'dark'));
      await page.goto(`${env.base}/app/settings/`);
      await page.goto(`${env.base}/app/settings#webhooks`);
      // The event webhooks form: its Events fieldset has no class of its own.
      const fs = page.locator('fieldset', { has: page.locator('legend', { hasText: 'Events' }) });
      if ((await fs.count()) === 0) {
        const tab = page.getByRole('tab', { name: /webhook/i });
        if (await tab.count()) await tab.first().click();
      }
      await fs.first().waitFor();
      await fs.first().scrollIntoViewIfNeeded();
      const border = await fs.first().evaluate((el) => {
        const cs = getComputedStyle(el);
        return { style: cs.borderTopStyle, color: cs.borderTopColor, width: cs.borderTopWidth };
      });
      assert.equal(border.style, 'solid');
      assert.equal(border.width, '1px');
      assert.equal(border.color, await varColour(page, '--line'));
      await page.screenshot({ path: '/tmp/uipolish-fieldset-dark.png' });
      await env.shot('uipolish-2-fieldset-dark');
      await page.evaluate(() => localStorage.setItem('parley:theme', 'light'));
    },
  },
  {
    name: 'uipolish: the session panel follows a call to its end without a reload',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await page.evaluate(() => localStorage.setItem('parley:theme', 'light'));
      const llm = await fakeChatModel('polish-model', (r) => {
        const callerTurns = (r.messages ?? []).filter((m) => m.role === 'user').length;
        if (JSON.stringify(r.response_format ?? '').includes('call_outcome')) return JSON.stringify({ outcome: 'callback', summary: 'The caller wants a call back.' });
        if (callerTurns >= 1) return JSON.stringify({ say: 'I will pass it on. Goodbye!', action: 'end_call', reason: 'done' });
        return JSON.stringify({ say: 'How can I help?', action: 'continue', reason: '' });
      });
      let flowId = '';
      try {
        await useOnlyModel(page, 'Polish model', llm, 'polish-model');
        const chans = await apiCall(page, 'GET', '/sandbox/channels/');
        const line = (chans.json.items ?? []).find((c) => c.type === 'voice');
        assert.ok(line, 'no sandbox voice line: ' + chans.text);
        const end = (id, x) => ({ id, type: 'end', position: { x, y: 300 }, data: {} });
        const graph = {
          nodes: [
            { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { type: 'api' } } },
            { id: 'call', type: 'voice_call', position: { x: 0, y: 140 }, data: { channel_id: line.id, prompt: 'Take a message.', greeting: 'Hi, this is the clinic.', variable: 'call', outcomes: ['callback'] } },
            end('done', 0), end('missed', 250), end('failed', 500),
          ],
          edges: [
            { id: 'e1', source: 'start', target: 'call' },
            { id: 'e2', source: 'call', sourceHandle: 'completed', target: 'done' },
            { id: 'e3', source: 'call', sourceHandle: 'no_answer', target: 'missed' },
            { id: 'e4', source: 'call', sourceHandle: 'failed', target: 'failed' },
          ],
        };
        const pub = await apiCall(page, 'POST', '/chat-flow/flows/', { name: 'Polish call', is_active: true, flow_data: graph });
        assert.equal(pub.status, 201, pub.text);
        flowId = pub.json.id;
        const started = await apiCall(page, 'POST', '/sandbox/calls/', { channel_id: line.id, flow: 'Polish call', number: '+15555550177', name: 'Paula Polish' });
        assert.equal(started.status, 201, started.text);
        const path = `/sandbox/calls/${started.json.id}/`;
        const heard = callListener(page, started);
        await heard('Hi, this is the clinic.');
        let contact;
        for (let i = 0; i < 40 && !contact; i++) {
          contact = ((await apiCall(page, 'GET', '/contacts/?search=Paula')).json?.results ?? [])[0];
          if (!contact) await page.waitForTimeout(250);
        }
        assert.ok(contact, 'no contact for the call');

        // During the call the panel shows the session waiting for it.
        await page.goto(`${env.base}/app/conversations/${contact.id}`);
        const current = page.getByRole('region', { name: 'Current session' });
        await current.getByText('waiting', { exact: true }).waitFor();
        await page.screenshot({ path: '/tmp/uipolish-session-waiting.png' });

        // The caller answers; the call completes and the flow ends: without
        // a reload the panel moves on (the last session, completed).
        await apiCall(page, 'POST', path + 'lines/', { text: 'Please call me back tomorrow.' });
        await heard('result');
        const last = page.getByRole('region', { name: 'Last session' });
        await last.locator('.badge').getByText('completed', { exact: true }).waitFor({ timeout: 20000 });
        assert.equal(await current.count(), 0, 'the panel still shows the session as current');
        await last.getByText(/callback/).first().waitFor();
        await page.getByRole('log', { name: 'Message history' }).getByLabel('Call result').waitFor();
        await page.screenshot({ path: '/tmp/uipolish-session-completed.png' });
        await env.shot('uipolish-3-session-completed');
      } finally {
        llm.close();
        if (flowId) {
          await apiCall(page, 'POST', `/chat-flow/flows/${flowId}/unpublish/`);
          await apiCall(page, 'DELETE', `/chat-flow/flows/${flowId}/`);
        }
      }
    },
  },
  {
    name: "uipolish: an inbound call's session shows in the open conversation without a reload",
    fn: async (env) => {
      const { page } = env;
      await env.login();
      const llm = await fakeChatModel('polish-model', (r) => {
        const callerTurns = (r.messages ?? []).filter((m) => m.role === 'user').length;
        if (JSON.stringify(r.response_format ?? '').includes('call_outcome')) {
          const said = JSON.stringify(r.messages ?? []);
          return JSON.stringify({ outcome: 'callback', summary: said.includes('second time') ? 'Second call: still wants a call back.' : 'The caller wants a call back.' });
        }
        if (callerTurns >= 1) return JSON.stringify({ say: 'I will pass it on. Goodbye!', action: 'end_call', reason: 'done' });
        return JSON.stringify({ say: 'How can I help?', action: 'continue', reason: '' });
      });
      let flowId = '';
      try {
        await useOnlyModel(page, 'Polish model', llm, 'polish-model');
        const chans = await apiCall(page, 'GET', '/channels/');
        const twilio = (chans.json?.results ?? chans.json?.items ?? []).find((c) => c.name === 'Sandbox Twilio number');
        assert.ok(twilio, 'no sandbox Twilio number: ' + chans.text);
        const end = (id, x) => ({ id, type: 'end', position: { x, y: 300 }, data: {} });
        const graph = {
          nodes: [
            { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { type: 'inbound_call' } } },
            { id: 'answer', type: 'wait_inbound_call', position: { x: 0, y: 140 }, data: { channel_id: twilio.id, timeout_seconds: 60, prompt: 'Take a message.', greeting: 'Hello, you reached the clinic.', variable: 'call', outcomes: ['callback'] } },
            end('done', 0), end('late', 250),
          ],
          edges: [
            { id: 'e1', source: 'start', target: 'answer' },
            { id: 'e2', source: 'answer', sourceHandle: 'answered', target: 'done' },
            { id: 'e3', source: 'answer', sourceHandle: 'timeout', target: 'late' },
          ],
        };
        const pub = await apiCall(page, 'POST', '/chat-flow/flows/', { name: 'Polish front desk', is_active: true, flow_data: graph });
        assert.equal(pub.status, 201, pub.text);
        flowId = pub.json.id;
        // A first call makes the caller a contact; their conversation is opened.
        const first = await apiCall(page, 'POST', '/sandbox/calls/inbound/', { from: '+15555550178', lines: ['Please call me back tomorrow.'] });
        assert.equal(first.status, 201, first.text);
        let contact;
        for (let i = 0; i < 60 && !contact; i++) {
          contact = ((await apiCall(page, 'GET', '/contacts/?search=5555550178')).json?.results ?? [])[0];
          if (!contact) await page.waitForTimeout(500);
        }
        assert.ok(contact, 'the call started no flow for the caller');
        await page.goto(`${env.base}/app/conversations/${contact.id}`);
        const last = page.getByRole('region', { name: 'Last session' });
        await last.getByText('The caller wants a call back.').waitFor({ timeout: 30000 });
        await last.locator('.badge').getByText('completed', { exact: true }).waitFor();

        // They call again while the page is open: its session, once
        // completed, replaces the first in the panel, with no reload.
        const second = await apiCall(page, 'POST', '/sandbox/calls/inbound/', { from: '+15555550178', lines: ['Calling a second time: please call me back.'] });
        assert.equal(second.status, 201, second.text);
        await last.getByText('Second call: still wants a call back.').waitFor({ timeout: 30000 });
        await last.locator('.badge').getByText('completed', { exact: true }).waitFor();
        assert.equal(await page.getByRole('region', { name: 'Current session' }).count(), 0);
        await page.screenshot({ path: '/tmp/uipolish-inbound-second.png' });
        await env.shot('uipolish-4-inbound-second');
      } finally {
        llm.close();
        if (flowId) {
          await apiCall(page, 'POST', `/chat-flow/flows/${flowId}/unpublish/`);
          await apiCall(page, 'DELETE', `/chat-flow/flows/${flowId}/`);
        }
      }
    },
  },
];
