// The browser tests, in order (later ones use what earlier ones built, kept in env.shared).
// Elements are found by role, label and text, the way a person finds them.
import { readFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import assert from 'node:assert/strict';

import { skip, apiCall, openFlow, node } from './lib.mjs';

export const tests = [
  {
    name: 'log in',
    fn: async (env) => {
      const { page } = env;
      await page.goto(env.base + '/app/');
      await page.getByRole('heading', { name: 'Log in to Parley' }).waitFor();
      await env.shot('01-login');
      await page.getByLabel('Password').fill('wrong-password');
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('alert').waitFor(); // the API's problem detail
      await env.login();
      await page.getByText('No flows yet').waitFor();
      await env.shot('02-flows-empty');
    },
  },
  {
    name: 'create a flow from the appointment-booking template',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await page.getByRole('button', { name: 'New flow' }).click();
      const dlg = page.getByRole('dialog', { name: 'New flow' });
      await dlg.getByText('Appointment booking').click();
      await env.shot('03-new-flow-dialog');
      await dlg.getByRole('button', { name: 'Create flow' }).click();
      await page.locator('.react-flow__node').first().waitFor();
      await page.getByRole('heading', { name: 'Appointment booking' }).waitFor();
      env.shared.flowId = page.url().split('/flows/')[1];
      assert.ok(env.shared.flowId);
      assert.equal(await page.locator('.react-flow__node').count(), 20);
      await env.shot('04-editor-template');
    },
  },
  {
    name: 'change a message text on the canvas',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await openFlow(env, env.shared.flowId);
      await node(page, 'welcome').click();
      const text = page.getByRole('combobox', { name: 'Text' });
      await text.fill('Hello {{ contact.name }}! Shall we book you in?');
      await node(page, 'welcome').getByText('Shall we book you in?').waitFor();
      // {{ completion
      await text.fill('Hello {{ cont');
      await page.getByRole('option', { name: 'contact.name' }).click();
      assert.equal(await text.inputValue(), 'Hello {{ contact.name }}');
      await text.fill('Hello {{ contact.name }}! Shall we book you in?');
      await page.getByText('Unsaved changes').waitFor();
      await env.shot('05-node-form');
      await page.keyboard.press('Control+s');
      await page.getByText('All changes saved').waitFor();
      const f = await apiCall(page, 'GET', `/chat-flow/flows/${env.shared.flowId}/`);
      const welcome = f.json.flow_data.nodes.find((n) => n.id === 'welcome');
      assert.equal(welcome.data.text, 'Hello {{ contact.name }}! Shall we book you in?');
    },
  },
  {
    name: 'add a node from the palette and connect it, then save',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await openFlow(env, env.shared.flowId);
      // Drag "Message" from the palette onto the canvas.
      const pal = page.getByRole('navigation', { name: 'Components' });
      await pal.getByRole('button', { name: 'Message', exact: true }).dragTo(page.locator('.react-flow__pane'), { targetPosition: { x: 700, y: 250 } });
      const added = node(page, 'message_1');
      await added.waitFor();
      await page.getByRole('combobox', { name: 'Text' }).fill('Okay, maybe another time!');
      // Connect its "next" exit to end_bye by dragging between the handles.
      await page.getByRole('button', { name: 'Zoom to fit' }).click();
      await page.waitForTimeout(1000); // the zoom animates for 300 ms
      const out = added.locator('.react-flow__handle[data-handleid="next"]');
      const endBye = node(page, 'end_bye');
      await endBye.scrollIntoViewIfNeeded();
      const inH = endBye.locator('.react-flow__handle.target');
      const a = await out.boundingBox();
      const b = await inH.boundingBox();
      await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
      await page.mouse.down();
      await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 });
      await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 5 });
      await page.waitForTimeout(100);
      await page.mouse.up();
      // The connection shows in the node's form.
      await added.click();
      assert.equal(await page.getByLabel('next', { exact: true }).inputValue(), 'end_bye');
      // Route the welcome message's "No thanks" button to the new node (the form's connection picker).
      await node(page, 'welcome').click();
      await page.getByLabel('No thanks', { exact: true }).selectOption('message_1');
      await env.shot('06-node-added-connected');
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      await page.getByText('All changes saved').waitFor();
      const f = await apiCall(page, 'GET', `/chat-flow/flows/${env.shared.flowId}/`);
      const edges = f.json.flow_data.edges;
      assert.ok(edges.some((e) => e.source === 'message_1' && e.target === 'end_bye'), 'message_1 → end_bye saved');
      assert.ok(edges.some((e) => e.source === 'welcome' && e.sourceHandle === 'No thanks' && e.target === 'message_1'), 'welcome/No thanks → message_1 saved');
      assert.deepEqual(f.json.problems.filter((p) => p.severity === 'error'), []);
    },
  },
  {
    name: 'palette, forms and limits come from the server (GET /chat-flow/node-types/)',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      const types = (await apiCall(page, 'GET', '/chat-flow/node-types/')).json.results;
      const created = await apiCall(page, 'POST', '/chat-flow/flows/', {
        name: 'Node types from the server',
        flow_data: { nodes: [{ id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { type: 'manual' } } }], edges: [] },
      });
      assert.equal(created.status, 201, created.text);
      await openFlow(env, created.json.id);
      // The palette offers exactly the server's palette types, under its group labels.
      const pal = page.getByRole('navigation', { name: 'Components' });
      const offered = (await pal.locator('.pal-item').allTextContents()).map((t) => t.replace(' (unavailable)', '')).sort();
      assert.deepEqual(offered, types.filter((t) => t.palette).map((t) => t.label).sort());
      for (const t of types.filter((t) => t.palette)) await pal.getByRole('region', { name: t.group_label }).waitFor();
      // Exactly the types the server says are unavailable are marked so (every
      // type runs today, so none is; the palette follows the server either way).
      const unavailable = types.filter((t) => !t.available && t.palette).map((t) => t.label).sort();
      const marked = (await pal.locator('.pal-item').allTextContents()).filter((t) => t.includes('(unavailable)')).map((t) => t.replace(' (unavailable)', '')).sort();
      assert.deepEqual(marked, unavailable, 'the palette marks exactly the server\'s unavailable types');
      // A new Message node: the buttons' limits in its form are the server's.
      const message = types.find((t) => t.type === 'message');
      const buttons = message.fields.find((f) => f.name === 'buttons');
      await pal.getByRole('button', { name: 'Message', exact: true }).click();
      await node(page, 'message_1').waitFor();
      const add = page.getByRole('button', { name: 'Add button' });
      for (let i = 0; i < buttons.max_items; i++) await add.click();
      assert.ok(await add.isDisabled(), `"Add button" is disabled at the server's max_items (${buttons.max_items})`);
      await page.getByText(`(${buttons.max_items}/${buttons.max_items})`).waitFor();
      const first = page.getByLabel('Button 1', { exact: true });
      assert.equal(Number(await first.getAttribute('maxlength')), buttons.items.max_length);
      await first.fill('Yes');
      // The node's exits follow the server's exit rules: one per button, then other and timeout.
      const plus = message.exits.dynamic[0].plus.map((x) => x.name);
      for (const name of ['Yes', ...plus]) await node(page, 'message_1').locator(`.react-flow__handle[data-handleid="${name}"]`).waitFor({ state: 'attached' });
      // The form of a new node starts from the server's defaults.
      await pal.getByRole('button', { name: 'Delay', exact: true }).click();
      await node(page, 'delay_1').waitFor();
      const delay = types.find((t) => t.type === 'delay');
      assert.equal(Number(await page.getByLabel('Seconds').inputValue()), delay.defaults.seconds);
      assert.equal(Number(await page.getByLabel('Seconds').getAttribute('max')), delay.fields.find((f) => f.name === 'seconds').maximum);
      await env.shot('06b-node-types-from-server');
    },
  },
  {
    name: 'publish',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await openFlow(env, env.shared.flowId);
      // A lint error blocks publishing and is listed; clicking it focuses the node.
      await node(page, 'ask_service').click();
      await page.getByRole('button', { name: 'Remove buttons 1' }).click(); // drops "Haircut": fine
      await page.getByRole('button', { name: 'Add button' }).click(); // a new empty button → error
      await page.getByRole('button', { name: 'Save and publish' }).click();
      await page.getByText(/Not published: fix the/).waitFor();
      const list = page.getByRole('list', { name: 'Problems' });
      await list.waitFor();
      await env.shot('07-publish-blocked-by-lint');
      await page.getByRole('button', { name: 'Undo' }).click();
      await page.getByRole('button', { name: 'Undo' }).click();
      await page.getByRole('button', { name: 'Save and publish' }).click();
      await page.getByText('Published revision 1').waitFor();
      await page.locator('.badge', { hasText: 'published' }).first().waitFor();
      const f = await apiCall(page, 'GET', `/chat-flow/flows/${env.shared.flowId}/`);
      assert.equal(f.json.status, 'published');
      assert.equal(f.json.revision, 1);
      assert.ok(f.json.flow_data.nodes.find((n) => n.id === 'ask_service').data.buttons.includes('Haircut'));
      await env.shot('08-published');
    },
  },
  {
    name: 'simulator: a whole conversation with a button tap and a fired timeout',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      const probe = await apiCall(page, 'GET', '/simulator/sessions/x/');
      if (probe.status === 404 && !(probe.json && probe.json.code === 'not_found' && /session/i.test(probe.json.detail ?? ''))) {
        const spec = await apiCall(page, 'GET', '/openapi.json');
        if (!Object.keys(spec.json.paths).some((p) => p.startsWith('/simulator/'))) throw skip('the simulator API (/simulator/sessions/) is not in this server yet');
      }
      await openFlow(env, env.shared.flowId);
      await page.getByRole('tab', { name: 'Simulator' }).click();
      const sim = page.getByRole('region', { name: 'Simulator' });
      await sim.getByRole('button', { name: 'Start' }).click();
      const log = sim.getByRole('log', { name: 'Conversation' });
      await log.getByText('Shall we book you in?').waitFor();
      await log.getByRole('button', { name: 'Book now' }).click();
      await log.getByText('Which service would you like?').waitFor();
      await log.getByRole('button', { name: 'Coloring' }).click();
      await log.getByText('Which day suits you?').waitFor();
      await sim.getByLabel('Message').fill('2035-06-30');
      await sim.getByRole('button', { name: 'Send' }).click();
      await log.getByText(/morning or the afternoon/).waitFor();
      await log.getByRole('button', { name: 'Afternoon' }).click();
      await log.getByText(/Please confirm: Coloring on 2035-06-30/).waitFor();
      await env.shot('09-simulator');
      await sim.getByRole('button', { name: 'Fire timeout' }).click();
      await log.getByText(/We haven't heard from you/).waitFor();
      await sim.getByText(/Session completed/).waitFor();
      await sim.getByRole('tab', { name: 'Trace' }).click();
      await sim.locator('pre.vars').getByText('"service": "Coloring"').waitFor();
      assert.ok(await page.locator('.fnode.in-path').count() >= 8, 'the path is highlighted on the canvas');
      await env.shot('10-simulator-trace');
      env.shared.simulated = true;
    },
  },
  {
    name: 'analytics overlay counts a conversation',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      // The simulator never counts in analytics (by design), so run a real
      // session of the live revision: a web-chat channel and the start API.
      const ch = await apiCall(page, 'POST', '/channels/', { type: 'webchat', name: 'Web chat' });
      assert.equal(ch.status, 201, ch.text);
      const st = await apiCall(page, 'POST', `/chat-flow/flows/${env.shared.flowId}/start/`, { channel_id: ch.json.id, phone: '+15551230001', name: 'Ann' });
      assert.ok(st.status < 300, st.text);
      await openFlow(env, env.shared.flowId);
      let label = '';
      for (let i = 0; i < 40 && !/^[1-9]/.test(label); i++) {
        if (i === 0) await page.getByRole('button', { name: 'Analytics' }).click();
        else await page.getByRole('button', { name: 'Refresh' }).click();
        await page.getByRole('status').filter({ hasText: 'Analytics (live revision)' }).waitFor();
        await page.waitForTimeout(250);
        label = (await node(page, 'welcome').locator('.fnode-stats').getAttribute('aria-label').catch(() => '')) ?? '';
      }
      assert.match(label, /^[1-9]\d* visits/, `welcome visits: ${label}`);
      await page.getByRole('status').filter({ hasText: /[1-9]\d* started/ }).waitFor();
      await env.shot('11-analytics-overlay');
    },
  },
  {
    name: 'import an exported flow',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await openFlow(env, env.shared.flowId);
      const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSON' }).click()]);
      const file = await dl.path();
      const doc = JSON.parse(readFileSync(file, 'utf8'));
      assert.equal(doc.format, 'parley.flow');
      await page.goto(env.base + '/app/flows');
      await page.getByRole('button', { name: 'New flow' }).click();
      const dlg = page.getByRole('dialog', { name: 'New flow' });
      await dlg.getByRole('tab', { name: 'Import JSON' }).click();
      await dlg.getByLabel('Flow name').fill('Imported booking');
      await dlg.getByLabel('Flow file (.json)').setInputFiles(file);
      await dlg.getByRole('button', { name: 'Import flow' }).click();
      await page.getByRole('heading', { name: 'Imported booking' }).waitFor();
      await page.locator('.react-flow__node').first().waitFor();
      assert.equal(await page.locator('.react-flow__node').count(), doc.flow_data.nodes.length);
      await page.getByRole('link', { name: 'Back to flows' }).click();
      await page.getByRole('link', { name: 'Imported booking' }).waitFor();
      await page.getByRole('searchbox', { name: 'Search flows' }).fill('imported');
      await page.getByRole('link', { name: 'Appointment booking' }).waitFor({ state: 'detached' });
      await env.shot('12-flows-list');
    },
  },
  {
    name: 'a conflicting save shows the conflict dialog',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await openFlow(env, env.shared.flowId);
      // Someone else saves the flow meanwhile (through the API).
      const f = await apiCall(page, 'GET', `/chat-flow/flows/${env.shared.flowId}/`);
      const other = structuredClone(f.json.flow_data);
      other.nodes.find((n) => n.id === 'ask_date').data.text = 'Which date? (changed by a colleague)';
      const put = await apiCall(page, 'PUT', `/chat-flow/flows/${env.shared.flowId}/`, { version: f.json.version, flow_data: other });
      assert.equal(put.status, 200, put.text);
      // We edit and save from the stale version.
      await node(page, 'welcome').click();
      await page.getByRole('combobox', { name: 'Text' }).fill('My own change');
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      const dlg = page.getByRole('dialog', { name: 'Someone else saved this flow first' });
      await dlg.waitFor();
      await dlg.getByRole('strong').filter({ hasText: 'admin@parley.local' }).waitFor();
      await env.shot('13-conflict-dialog');
      await dlg.getByRole('button', { name: 'Load their version' }).click();
      await node(page, 'ask_date').getByText('changed by a colleague').waitFor();
      const after = await apiCall(page, 'GET', `/chat-flow/flows/${env.shared.flowId}/`);
      assert.notEqual(after.json.flow_data.nodes.find((n) => n.id === 'welcome').data.text, 'My own change', 'nothing was overwritten');
    },
  },
  {
    name: 'template preview enforces the 3-button limit',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await page.getByRole('link', { name: 'Templates' }).click();
      await page.getByRole('heading', { name: 'Message templates' }).waitFor();
      await env.shot('14-templates');
      await page.getByRole('button', { name: 'New template' }).click();
      const dlg = page.getByRole('dialog', { name: 'New template' });
      await dlg.getByLabel('Name').fill('order_update');
      await dlg.getByLabel('Body').fill('Hi {{1}}, your order {{2}} has shipped.');
      const preview = dlg.getByRole('figure', { name: 'WhatsApp preview' });
      await preview.getByText('Hi {{1}}, your order {{2}} has shipped.').waitFor();
      for (const t of ['Track', 'Change address', 'Talk to us']) {
        await dlg.getByRole('button', { name: 'Add quick reply' }).click();
        await dlg.getByLabel(/^Button \d+ text$/).last().fill(t);
      }
      assert.equal(await preview.getByRole('button').count(), 3);
      await dlg.getByRole('button', { name: 'Add quick reply' }).click();
      await dlg.getByLabel(/^Button \d+ text$/).last().fill('Cancel order');
      // WhatsApp shows at most 3 buttons: beyond that, 2 and "See all options".
      await preview.getByRole('button', { name: 'See all options' }).waitFor();
      assert.equal(await preview.getByRole('button').count(), 3);
      // Limits are enforced as you type: 25 characters per button.
      const last = dlg.getByLabel(/^Button \d+ text$/).last();
      await last.fill('x'.repeat(40));
      assert.equal((await last.inputValue()).length, 25);
      await env.shot('15-template-preview');
    },
  },
  {
    name: 'other pages render (conversations, channels, settings)',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await page.getByRole('link', { name: 'Conversations' }).click();
      await page.getByRole('heading', { name: 'Conversations' }).waitFor();
      await env.shot('16-conversations');
      await page.getByRole('link', { name: 'Channels' }).click();
      await page.getByRole('heading', { name: 'Channels' }).waitFor();
      await env.shot('17-channels');
      // Connecting a number: every field of the form reaches the channel.
      await page.getByRole('button', { name: 'Add WhatsApp Cloud API' }).click();
      const wa = page.getByRole('dialog');
      await wa.getByLabel('Phone number ID').fill('109876543210');
      await wa.getByLabel('WhatsApp Business Account ID').fill('209876543210');
      await wa.getByLabel('Access token').fill('EAA-e2e-token');
      await wa.getByLabel('App secret').fill('e2e-app-secret');
      await wa.getByLabel('Messages per second').fill('40');
      await wa.getByLabel('Request timeout (seconds)').fill('30');
      await wa.getByRole('button', { name: 'Connect' }).click();
      await page.getByRole('dialog', { name: /is connected/ }).getByRole('button', { name: 'Done' }).click();
      const chs = await apiCall(page, 'GET', '/channels/');
      const made = chs.json.results.find((c) => c.type === 'whatsapp' && c.config.phone_number_id === '109876543210');
      assert.ok(made, 'the WhatsApp channel was not created');
      assert.equal(made.config.messages_per_second, 40);
      assert.equal(made.config.request_timeout_seconds, 30);
      await page.getByRole('link', { name: 'Settings' }).click();
      await page.getByRole('heading', { name: 'Settings' }).waitFor();
      await page.getByLabel('Token name').fill('ci');
      await page.getByRole('button', { name: 'Create token' }).click();
      const secret = page.getByLabel('New token (shown once)');
      await secret.waitFor();
      assert.match(await secret.inputValue(), /^prl_/);
      await env.shot('18-settings');
    },
  },
  {
    name: 'the channel form is built from the channel types the server declares',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      const types = await apiCall(page, 'GET', '/channel-types/');
      assert.equal(types.status, 200, types.text);
      await page.getByRole('link', { name: 'Channels' }).click();
      await page.getByRole('heading', { name: 'Channels' }).waitFor();
      for (const t of types.json.results) {
        // One "Add" button per declared type, and its dialog shows exactly
        // the declared fields: secrets as password inputs, required ones
        // required, defaults as placeholders.
        await page.getByRole('button', { name: `Add ${t.label}` }).click();
        const dlg = page.getByRole('dialog', { name: `Add ${t.label}` });
        await dlg.waitFor();
        assert.equal(await dlg.locator('input').count(), 1 + t.fields.length, `${t.name}: inputs`);
        for (const f of t.fields) {
          const input = dlg.getByLabel(f.label, { exact: true });
          const kind = await input.getAttribute('type');
          assert.equal(kind, f.secret ? 'password' : f.type === 'boolean' ? 'checkbox' : f.type === 'string' ? 'text' : 'number', `${t.name}.${f.name}: type`);
          assert.equal(await input.evaluate((el) => el.required), f.required, `${t.name}.${f.name}: required`);
          if (f.default !== undefined && f.default !== null && f.type !== 'boolean') assert.equal(await input.getAttribute('placeholder'), `Default ${f.default}`);
        }
        await dlg.getByRole('button', { name: 'Cancel' }).click();
      }
      // The web chat declares no fields: connecting it sends no config.
      await page.getByRole('button', { name: 'Add Web chat' }).click();
      await page.getByRole('dialog', { name: 'Add Web chat' }).getByRole('button', { name: 'Connect' }).click();
      await page.getByRole('dialog', { name: /is connected/ }).getByRole('button', { name: 'Done' }).click();
      const chs = await apiCall(page, 'GET', '/channels/');
      assert.ok(chs.json.results.some((c) => c.type === 'webchat'), 'the web chat channel was not created');
    },
  },
  {
    name: 'channel log explains a failed send; a dead letter is listed and replayed',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      const secret = 'e2e-log-app-secret';
      const token = 'EAA-e2e-log-access-token';
      // A number whose Graph API does not answer: every send fails to connect.
      const ch = await apiCall(page, 'POST', '/channels/', {
        type: 'whatsapp',
        name: 'Log test number',
        config: { phone_number_id: '3010301', waba_id: '3020302', access_token: token, app_secret: secret, verify_token: 'e2e-log-verify', api_base_url: 'http://127.0.0.9:9', request_timeout_seconds: 2 },
      });
      assert.equal(ch.status, 201, ch.text);
      const chID = ch.json.id;
      const webhook = async (body) => {
        const res = await fetch(`${env.base}/webhooks/whatsapp/${chID}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': 'sha256=' + createHmac('sha256', secret).update(body).digest('hex') },
          body,
        });
        return { status: res.status, text: await res.text() };
      };
      const inbound = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '3020302', changes: [{ field: 'messages', value: {
        messaging_product: 'whatsapp', metadata: { display_phone_number: '15550000000', phone_number_id: '3010301' },
        contacts: [{ profile: { name: 'Logan' }, wa_id: '15550002222' }],
        messages: [{ from: '15550002222', id: 'wamid.E2E.LOG1', timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: 'hello' } }] } }] }] });
      assert.equal((await webhook(inbound)).status, 200);
      // Signed but unreadable: kept as a dead letter and acknowledged.
      const dead = await webhook('{"object":"whatsapp_business_account","entry":[');
      assert.equal(dead.status, 200, dead.text);
      assert.match(dead.text, /dead_letter/);

      const contacts = await apiCall(page, 'GET', '/contacts/?search=15550002222');
      const contactID = contacts.json.results[0].id;
      const sent = await apiCall(page, 'POST', `/conversations/${contactID}/messages/`, { text: 'Are you still there?' });
      assert.equal(sent.status, 201, sent.text);
      const msgID = sent.json.id ?? sent.json.message?.id;
      assert.ok(msgID, 'no message ID in ' + sent.text);
      // The failed call reaches the log (written in the background).
      for (let i = 0; ; i++) {
        const l = await apiCall(page, 'GET', `/channels/${chID}/logs/?message_id=${msgID}`);
        if (l.json.results.length > 0) break;
        if (i > 100) throw new Error('no log entry for the message: ' + l.text);
        await page.waitForTimeout(100);
      }

      // Why did this fail? Click the message's status in the conversation.
      await page.goto(`${env.base}/app/conversations/${contactID}`);
      const history = page.getByRole('log', { name: 'Message history' });
      await history.getByRole('button', { name: /show the channel log/ }).last().click();
      const dlg = page.getByRole('dialog', { name: /Channel log of this message/ });
      const entry = dlg.locator('details.log-entry').first();
      await entry.waitFor();
      await entry.getByText('no answer').waitFor();
      if ((await entry.getAttribute('open')) === null) await entry.locator('summary').click();
      await entry.getByText(/Are you still there\?/).first().waitFor();
      const shown = await dlg.innerText();
      assert.ok(!shown.includes(token) && !shown.includes(secret), 'the log shows a secret: ' + shown);
      assert.match(shown, /Authorization: \[redacted\]/);
      await env.shot('19-message-channel-log');
      await dlg.getByRole('button', { name: 'Close' }).click();

      // The channel's whole log and its dead letters, from the Channels page.
      await page.getByRole('link', { name: 'Channels' }).click();
      await page.getByRole('button', { name: 'Logs of Log test number' }).click();
      const logs = page.getByRole('dialog', { name: 'Log of Log test number' });
      // This server keeps every call, so the failures-only filter is offered.
      await logs.getByRole('checkbox', { name: 'failures only' }).waitFor();
      await logs.getByLabel('Log kind').selectOption('webhook');
      await logs.locator('details.log-entry').nth(1).waitFor();
      assert.ok(!(await logs.innerText()).includes(secret));
      await logs.getByRole('button', { name: 'Close' }).click();
      await page.getByRole('button', { name: 'Dead letters of Log test number' }).click();
      const dl = page.getByRole('dialog', { name: 'Dead letters of Log test number' });
      await dl.getByText(/cannot be read/).waitFor();
      await env.shot('20-dead-letters');
      await dl.getByRole('button', { name: 'Replay' }).click();
      await dl.getByText('replay failed').waitFor();
    },
  },
  {
    name: 'a 500-node flow opens in under 1 s and drags smoothly',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      const nodes = [{ id: 'start', type: 'start', position: { x: 0, y: 0 }, data: {} }];
      const edges = [];
      for (let i = 1; i <= 498; i++) {
        nodes.push({ id: `m${i}`, type: 'message', position: { x: (i % 25) * 300, y: Math.floor(i / 25) * 200 }, data: { text: `Step ${i}: hello {{ contact.name }}` } });
        edges.push({ id: `e${i}`, source: i === 1 ? 'start' : `m${i - 1}`, target: `m${i}` });
      }
      nodes.push({ id: 'end', type: 'end', position: { x: 0, y: 4200 }, data: {} });
      edges.push({ id: 'e499', source: 'm498', target: 'end' });
      const created = await apiCall(page, 'POST', '/chat-flow/flows/', { name: 'Big flow (500 nodes)', flow_data: { nodes, edges } });
      assert.equal(created.status, 201, created.text);
      const id = created.json.id;
      const runs = [];
      for (let r = 0; r < 3; r++) {
        await page.goto('about:blank');
        await page.goto(`${env.base}/app/flows/${id}`);
        // In-page: from navigation start until the canvas has painted its nodes.
        const t = await page.evaluate(
          () =>
            new Promise((res) => {
              const check = () => {
                const n = document.querySelectorAll('.react-flow__node').length;
                const vp = document.querySelector('.react-flow__viewport');
                const all = [...document.querySelectorAll('.react-flow__node')];
                if (n > 0 && vp && getComputedStyle(vp).transform !== 'none' && all.every((el) => getComputedStyle(el).visibility !== 'hidden' && el.getBoundingClientRect().width > 0)) {
                  requestAnimationFrame(() =>
                    requestAnimationFrame(() =>
                      res({
                        ms: performance.now(),
                        rendered: document.querySelectorAll('.react-flow__node').length,
                        marks: Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, Math.round(m.startTime)])),
                        resources: performance.getEntriesByType('resource').map((e) => `${e.name.replace(location.origin, '')} ${Math.round(e.startTime)}-${Math.round(e.responseEnd)}`),
                      }),
                    ),
                  );
                } else requestAnimationFrame(check);
              };
              check();
            }),
        );
        runs.push(t);
        if (process.env.E2E_VERBOSE) console.log(JSON.stringify(t, null, 1));
      }
      // Zoom to fit: every node on screen.
      const fitAll = await page.evaluate(
        () =>
          new Promise((res) => {
            const t0 = performance.now();
            [...document.querySelectorAll('button')].find((b) => b.textContent === 'Zoom to fit').click();
            const check = () => {
              const all = [...document.querySelectorAll('.react-flow__node')];
              if (all.length >= 500 && all.every((el) => getComputedStyle(el).visibility !== 'hidden'))
                requestAnimationFrame(() => requestAnimationFrame(() => res(Math.round(performance.now() - t0))));
              else requestAnimationFrame(check);
            };
            check();
          }),
      );
      await page.waitForTimeout(400);
      // Drag a node for 60 mouse moves and record the frame times, first with all 500
      // nodes on screen (zoomed to fit), then zoomed in as one edits.
      const dragFrames = async (id) => {
        const target = node(page, id);
        const box = await target.boundingBox();
        await page.evaluate(() => {
          window.__frames = [];
          window.__stop = false;
          let last = performance.now();
          const tick = (t) => {
            window.__frames.push(t - last);
            last = t;
            if (!window.__stop) requestAnimationFrame(tick);
          };
          requestAnimationFrame(tick);
        });
        const cdp = await page.context().newCDPSession(page);
        await cdp.send('Performance.enable');
        const m0 = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
        const sx = box.x + box.width / 2;
        const sy = box.y + Math.min(12, box.height / 3);
        await page.mouse.move(sx, sy);
        await page.mouse.down();
        const t0 = Date.now();
        for (let i = 1; i <= 60; i++) await page.mouse.move(sx + i * 4, sy + Math.sin(i / 6) * 40);
        await page.mouse.up();
        const ms = Date.now() - t0;
        const frames = await page.evaluate(() => {
          window.__stop = true;
          return window.__frames.slice(1);
        });
        const m1 = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
        const cpu = Object.fromEntries(['ScriptDuration', 'LayoutDuration', 'RecalcStyleDuration', 'TaskDuration'].map((k) => [k.replace('Duration', '_ms'), Math.round((m1[k] - m0[k]) * 1000)]));
        await cdp.detach();
        const moved = await target.boundingBox();
        assert.ok(Math.abs(moved.x - box.x) > 20, `node ${id} moved`);
        const sorted = [...frames].sort((a, b) => a - b);
        const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
        return {
          rendered_nodes: await page.locator('.react-flow__node').count(),
          duration_ms: ms,
          frames: frames.length,
          mean_ms: +(frames.reduce((a, b) => a + b, 0) / frames.length).toFixed(1),
          p95_ms: +pct(95).toFixed(1),
          max_ms: +sorted[sorted.length - 1].toFixed(1),
          over_50ms: frames.filter((f) => f > 50).length,
          main_thread: cpu,
        };
      };
      const dragAll = await dragFrames('m260');
      const box0 = await node(page, 'm30').boundingBox();
      await page.mouse.move(box0.x + box0.width / 2, box0.y + 5);
      for (let i = 0; i < 6; i++) await page.mouse.wheel(0, -200);
      await page.waitForTimeout(400);
      const dragZoomed = await dragFrames('m30');
      const perf = {
        nodes: 500,
        open_ms: runs.map((r) => Math.round(r.ms)),
        rendered_nodes: runs.map((r) => r.rendered),
        zoom_to_fit_all_500_ms: fitAll,
        drag_all_500_on_screen: dragAll,
        drag_zoomed_in: dragZoomed,
      };
      env.shared.perf = perf;
      env.notes = perf;
      console.log('     perf', JSON.stringify(perf));
      assert.ok(Math.min(...perf.open_ms) < 1000, `opens in under 1 s: ${perf.open_ms}`);
      // Editing zoom must stay smooth; the all-500-on-screen figure is reported (docs/benchmarks.md).
      assert.ok(dragZoomed.p95_ms < 50, `p95 frame time under 50 ms while dragging: ${dragZoomed.p95_ms}`);
      await env.shot('19-editor-500-nodes');
    },
  },
  {
    name: 'invite a new member: the link from settings, opened logged out, creates the login and joins',
    async fn(env) {
      const { page } = env;
      await env.login();
      await page.goto(env.base + '/app/settings');
      await page.getByRole('heading', { name: 'Members' }).waitFor();
      await page.getByLabel('Email', { exact: true }).fill('invitee@example.com');
      await page.getByRole('button', { name: 'Invite' }).click();
      const box = page.getByRole('status', { name: 'Invitation link' });
      const link = await box.getByLabel('Invitation link').inputValue();
      assert.match(link, /\/app\/invite\?token=/);
      await page.getByRole('table', { name: 'Pending invitations' }).getByRole('cell', { name: 'invitee@example.com', exact: true }).waitFor();
      await env.shot('20-members-invitation');

      // The invitee has no login: a fresh browser context opens the link.
      const other = await env.browser.newContext({ viewport: { width: 1200, height: 900 } });
      try {
        const p2 = await other.newPage();
        await p2.goto(link);
        await p2.getByRole('heading', { name: /^Join / }).waitFor();
        await p2.getByLabel('Your name').fill('Ivy Invitee');
        await p2.getByLabel(/Choose a password/).fill('a-long-new-password');
        await p2.getByRole('button', { name: 'Create my login and join' }).click();
        await p2.getByRole('heading', { name: 'Flows', exact: true }).waitFor();
      } finally {
        await other.close();
      }
      // The owner now sees the member, and the invitation is no longer pending.
      await page.reload();
      await page.getByRole('cell', { name: 'invitee@example.com', exact: true }).first().waitFor();
      assert.equal(await page.getByRole('table', { name: 'Pending invitations' }).count(), 0);
    },
  },
];
