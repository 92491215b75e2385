// WhatsApp Flows (forms) against the sandbox: create the appointment-booking
// form from its template, preview and fill it, publish it at the fake Meta,
// send it from a chat flow, complete it as the customer, and see the answers
// in the conversation and the session's variables.
import assert from 'node:assert/strict';
import { apiCall } from '../lib.mjs';

export const serverArgs = ['--sandbox'];

const shared = {};

export const tests = [
  {
    name: 'waflows: create the appointment-booking form from its template',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await page.getByRole('link', { name: 'WhatsApp Flows' }).click();
      await page.getByRole('heading', { name: 'WhatsApp Flows', exact: true }).waitFor();
      await page.getByText('No WhatsApp Flows yet').waitFor();
      await page.getByRole('button', { name: 'New WhatsApp Flow' }).click();
      const dlg = page.getByRole('dialog', { name: 'New WhatsApp Flow' });
      await dlg.getByLabel('Template', { exact: true }).selectOption('appointment_booking');
      await dlg.getByLabel('WhatsApp channel').selectOption({ label: 'Sandbox WhatsApp' });
      await env.shot('waflows-01-new');
      await dlg.getByRole('button', { name: 'Create' }).click();
      await page.getByRole('heading', { name: 'Appointment booking' }).waitFor();
      shared.id = page.url().split('/whatsapp-flows/')[1];
      assert.ok(shared.id);
      await page.getByRole('status').filter({ hasText: 'Valid Flow JSON' }).waitFor();
      // Meta (the sandbox) gave it an ID and it is a draft.
      const f = await apiCall(page, 'GET', `/whatsapp-flows/${shared.id}/`);
      assert.equal(f.json.status, 'DRAFT');
      assert.ok(f.json.meta_flow_id);
    },
  },
  {
    name: 'waflows: a broken edit shows markers; the preview fills and completes the form',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await page.goto(`${env.base}/app/whatsapp-flows/${shared.id}`);
      const editor = page.getByLabel('Flow JSON editor');
      const good = await editor.inputValue();
      await editor.fill(good.replace('"version": "7.3"', '"version": "1.0"'));
      await page.locator('.waflow-problems .problem').first().waitFor();
      assert.match(await page.locator('.waflow-problems').innerText(), /FLOW_JSON_VERSION/);
      assert.ok(await page.getByRole('button', { name: 'Publish' }).isDisabled());
      await env.shot('waflows-02-markers');
      await editor.fill(good);
      await page.getByRole('status').filter({ hasText: 'Valid Flow JSON' }).waitFor();

      const pv = page.getByTestId('waform-preview');
      await pv.locator('select[name="service"]').selectOption({ index: 1 });
      await pv.locator('input[name="date"]').fill('2030-02-01');
      await pv.locator('input[name="time"]').first().check();
      await pv.getByRole('button', { name: 'Continue' }).click();
      await pv.locator('input[name="name"]').fill('Ann Lee');
      await pv.locator('input[name="email"]').fill('ann@example.com');
      await pv.getByRole('button', { name: 'Review' }).click();
      await pv.getByRole('button', { name: 'Book' }).click();
      const done = page.getByTestId('waform-complete');
      await done.waitFor();
      assert.match(await done.innerText(), /Ann Lee/);
      await env.shot('waflows-03-preview-completed');
    },
  },
  {
    name: 'waflows: publish, send from a chat flow, complete as the customer',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await page.goto(`${env.base}/app/whatsapp-flows/${shared.id}`);
      await page.getByRole('button', { name: 'Publish' }).click();
      await page.locator('.page-head .badge', { hasText: 'PUBLISHED' }).waitFor();
      await env.shot('waflows-04-published');

      const graph = {
        nodes: [
          { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { type: 'keyword', keywords: ['form'] } } },
          { id: 'form', type: 'whatsapp_flow', position: { x: 0, y: 120 }, data: { whatsapp_flow_id: shared.id, body: 'Pick a time, {{ contact.name }}', cta: 'Book now', variable: 'booking', timeout_seconds: 3600 } },
          { id: 'done', type: 'end', position: { x: 0, y: 240 }, data: { text: 'Booked {{ booking.service }} on {{ booking.date }} for {{ booking.name }}' } },
          { id: 'late', type: 'end', position: { x: 240, y: 240 }, data: { text: 'Too late' } },
        ],
        edges: [
          { id: 'e1', source: 'start', target: 'form' },
          { id: 'e2', source: 'form', sourceHandle: 'completed', target: 'done' },
          { id: 'e3', source: 'form', sourceHandle: 'timeout', target: 'late' },
        ],
      };
      const created = await apiCall(page, 'POST', '/chat-flow/flows/', { name: 'Book with a form', is_active: true, flow_data: graph });
      assert.equal(created.status, 201, created.text);
      const chans = await apiCall(page, 'GET', '/sandbox/channels/');
      const channel = chans.json.items[0].id;
      const from = '15550009999';
      const sent = await apiCall(page, 'POST', '/sandbox/messages/', { channel_id: channel, from, name: 'Ann', text: 'form' });
      assert.equal(sent.status, 201, sent.text);
      let form;
      for (let i = 0; i < 100 && !form; i++) {
        const r = await apiCall(page, 'GET', `/sandbox/replies/?channel_id=${channel}&to=${from}`);
        form = (r.json.items ?? []).find((x) => x.form)?.form;
        if (!form) await page.waitForTimeout(100);
      }
      assert.ok(form, 'the form reached the customer');
      assert.equal(form.screens[0].id, 'APPOINTMENT');
      const answers = { service: 'consultation', date: '2030-02-01', time: '09:00', name: 'Ann Lee', email: 'ann@example.com', reminders: true };
      const done = await apiCall(page, 'POST', '/sandbox/messages/', { channel_id: channel, from, form_answers: answers });
      assert.equal(done.status, 201, done.text);
      let reply;
      for (let i = 0; i < 100 && !reply; i++) {
        const r = await apiCall(page, 'GET', `/sandbox/replies/?channel_id=${channel}&to=${from}`);
        reply = (r.json.items ?? []).find((x) => /Booked consultation on 2030-02-01 for Ann Lee/.test(x.text ?? ''));
        if (!reply) await page.waitForTimeout(100);
      }
      assert.ok(reply, 'the chat flow continued with the answers');
      const contacts = await apiCall(page, 'GET', `/contacts/?search=${from}`);
      shared.contact = contacts.json.results[0].id;
      shared.chatFlow = created.json.id;
    },
  },
  {
    name: 'waflows: the simulator opens the form inline and its answers resume the session',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await page.goto(`${env.base}/app/flows/${shared.chatFlow}`);
      await page.locator('.react-flow__node').first().waitFor();
      await page.getByRole('tab', { name: 'Simulator' }).click();
      const sim = page.getByRole('region', { name: 'Simulator' });
      await sim.getByRole('button', { name: 'Start' }).click();
      const log = sim.getByRole('log', { name: 'Conversation' });
      await log.getByText(/Pick a time/).waitFor();
      await log.getByRole('button', { name: /Book now/ }).click();
      const sheet = sim.getByRole('dialog', { name: 'WhatsApp Flow form' });
      const pv = sheet.getByTestId('waform-preview');
      await pv.locator('select[name="service"]').selectOption({ index: 2 });
      await pv.locator('input[name="date"]').fill('2030-03-04');
      await pv.locator('input[name="time"]').first().check();
      await pv.getByRole('button', { name: 'Continue' }).click();
      await pv.locator('input[name="name"]').fill('Sim Tester');
      await pv.locator('input[name="email"]').fill('sim@example.com');
      await pv.getByRole('button', { name: 'Review' }).click();
      await env.shot('waflows-06-simulator-form');
      await pv.getByRole('button', { name: 'Book' }).click();
      await log.getByText(/Booked .* on 2030-03-04 for Sim Tester/).waitFor();
      await sim.getByText(/Session completed/).waitFor();
      await env.shot('waflows-07-simulator-done');
    },
  },
  {
    name: 'waflows: the answers in the conversation and the session variables',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await page.goto(`${env.base}/app/conversations/${shared.contact}`);
      const answers = page.getByLabel('Form answers').first();
      await answers.waitFor();
      assert.match(await answers.innerText(), /Ann Lee/);
      // The variables read as names and values, the form's answers nested
      // under the variable that holds them; the JSON is one click away.
      const vars = page.locator('.vars-view').first();
      await vars.waitFor();
      const text = await vars.locator('dl.vars-tree').first().innerText();
      assert.match(text, /booking/);
      assert.match(text, /reminders\s+true/);
      assert.match(text, /date\s+2030-02-01/);
      assert.doesNotMatch(text, /[{}"]/, 'no raw JSON in the variables view');
      await vars.getByText('JSON', { exact: true }).click();
      assert.match(await vars.locator('pre.vars').innerText(), /"reminders": true/);
      await env.shot('waflows-05-conversation');
    },
  },
];
