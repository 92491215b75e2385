// Issue #13, the UI half of "the first hour": what a newcomer trips over on
// the canvas, in the simulator, the trigger picker, the templates page, the
// inbox and in forms. Runs on its own `serve --sandbox` server (a WhatsApp
// sandbox channel that approves templates like Meta does).
import assert from 'node:assert/strict';

import { apiCall, openFlow, node } from '../lib.mjs';

export const serverArgs = ['--sandbox'];

/** The canvas viewport's zoom (React Flow's transform scale). */
async function zoomOf(page) {
  const t = await page.locator('.react-flow__viewport').evaluate((el) => getComputedStyle(el).transform);
  const m = /matrix\(([^,]+),/.exec(t);
  return m ? Number(m[1]) : 1;
}

/** A flow whose Start leads to a menu of 3 buttons, each to its own branch, the branches meeting at End; no positions. */
function branchyFlow(name) {
  return {
    name,
    flow_data: {
      nodes: [
        { id: 'start', type: 'start', data: { trigger: { type: 'manual' } } },
        { id: 'menu', type: 'message', data: { text: 'What can we do for you?', buttons: ['Book', 'Prices', 'Human'] } },
        { id: 'book', type: 'message', data: { text: 'Booking it is.' } },
        { id: 'prices', type: 'message', data: { text: 'A haircut is 30 €.' } },
        { id: 'human', type: 'message', data: { text: 'Someone will write to you.' } },
        { id: 'bye', type: 'end', data: { text: 'Bye!' } },
      ],
      edges: [
        { id: 'e1', source: 'start', sourceHandle: 'next', target: 'menu' },
        { id: 'e2', source: 'menu', sourceHandle: 'Book', target: 'book' },
        { id: 'e3', source: 'menu', sourceHandle: 'Prices', target: 'prices' },
        { id: 'e4', source: 'menu', sourceHandle: 'Human', target: 'human' },
        { id: 'e5', source: 'book', sourceHandle: 'next', target: 'bye' },
        { id: 'e6', source: 'prices', sourceHandle: 'next', target: 'bye' },
        { id: 'e7', source: 'human', sourceHandle: 'next', target: 'bye' },
        { id: 'e8', source: 'menu', sourceHandle: 'other', target: 'bye' },
      ],
    },
  };
}

const boxes = async (page, ids) => Object.fromEntries(await Promise.all(ids.map(async (id) => [id, await node(page, id).boundingBox()])));
const overlaps = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

export const tests = [
  {
    name: 'firstui: a flow opens at a readable zoom on its first screen; auto-layout spreads branches',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      // A long template flow: opens around Start, not shrunk to fit all of it.
      const tpl = await apiCall(page, 'POST', '/chat-flow/flows/from-template/', { template: 'appointment_booking', name: 'Readable booking' });
      assert.equal(tpl.status, 201, tpl.text);
      await openFlow(env, tpl.json.id);
      await page.waitForTimeout(300);
      const z = await zoomOf(page);
      assert.ok(z >= 0.9 && z <= 1, `opening zoom ${z}, want 90–100 %`);
      const pane = await page.locator('.react-flow').boundingBox();
      const start = await node(page, 'start').boundingBox();
      assert.ok(start && start.y >= pane.y && start.y < pane.y + pane.height / 3, `Start at the top of the canvas: ${JSON.stringify(start)} in ${JSON.stringify(pane)}`);
      const endTimeout = await node(page, 'end_timeout').boundingBox();
      assert.ok(!endTimeout || endTimeout.y > pane.y + pane.height, 'the whole flow was fitted instead of its first screen');
      // Handles big enough to grab (≥ 10 px on screen), text legible (≥ 11 px).
      for (const sel of ['.react-flow__handle.h-out', '.react-flow__handle.h-in']) {
        const h = await page.locator(sel).first().boundingBox();
        assert.ok(h.width >= 10 && h.height >= 10, `${sel} is ${h.width}×${h.height} px on screen`);
      }
      const font = await node(page, 'welcome').locator('.fnode-body').evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
      assert.ok(font * z >= 11, `node text is ${font * z} px on screen`);
      await env.shot('firstui-01-opens-readable');

      // A flow made through the API without positions is laid out on open,
      // and Auto-layout puts a 3-way branch side by side.
      const f = await apiCall(page, 'POST', '/chat-flow/flows/', branchyFlow('Three ways'));
      assert.equal(f.status, 201, f.text);
      await openFlow(env, f.json.id);
      await page.getByRole('button', { name: 'Zoom to fit' }).click();
      await page.waitForTimeout(400);
      const check = async () => {
        const b = await boxes(page, ['start', 'menu', 'book', 'prices', 'human', 'bye']);
        assert.ok(Math.abs(b.book.y - b.prices.y) < 2 && Math.abs(b.prices.y - b.human.y) < 2, 'the branches are not side by side');
        assert.ok(b.book.x < b.prices.x && b.prices.x < b.human.x, 'the branches are not in button order');
        assert.ok(b.menu.y < b.book.y && b.bye.y > b.book.y, 'menu above the branches, End below');
        const ids = Object.keys(b);
        for (const a of ids) for (const c of ids) if (a < c) assert.ok(!overlaps(b[a], b[c]), `${a} overlaps ${c}`);
      };
      await check();
      // Scramble into one column through the API, then Auto-layout.
      const flow = (await apiCall(page, 'GET', `/chat-flow/flows/${f.json.id}/`)).json;
      flow.flow_data.nodes.forEach((n, i) => (n.position = { x: 0, y: i * 150 }));
      const put = await apiCall(page, 'PUT', `/chat-flow/flows/${f.json.id}/`, { version: flow.version, flow_data: flow.flow_data });
      assert.equal(put.status, 200, put.text);
      await openFlow(env, f.json.id);
      await page.getByRole('button', { name: 'Auto-layout' }).click();
      await page.waitForTimeout(600);
      await check();
      await env.shot('firstui-02-auto-layout');
    },
  },
  {
    name: 'firstui: the simulator talks about running, not publishing, says it does not count, and offers to restart',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      // A draft with a lint error (a keyword trigger without keywords).
      const broken = await apiCall(page, 'POST', '/chat-flow/flows/', {
        name: 'Broken draft',
        flow_data: { nodes: [{ id: 'start', type: 'start', data: { trigger: { type: 'keyword', keywords: [] } } }, { id: 'end', type: 'end', data: {} }], edges: [{ id: 'e1', source: 'start', target: 'end' }] },
      });
      assert.equal(broken.status, 201, broken.text);
      await openFlow(env, broken.json.id);
      await page.getByRole('tab', { name: 'Simulator' }).click();
      const sim = page.getByRole('region', { name: 'Simulator' });
      await sim.getByText('simulated sessions do not count in analytics').waitFor();
      await sim.getByRole('button', { name: 'Start' }).click();
      const alert = sim.getByRole('alert');
      await alert.waitFor();
      const msg = await alert.innerText();
      assert.match(msg, /cannot run/);
      assert.doesNotMatch(msg, /publish/i);

      // A flow that ends: after the end, the input offers a restart.
      const f = await apiCall(page, 'POST', '/chat-flow/flows/', branchyFlow('Sim restart'));
      await openFlow(env, f.json.id);
      await page.getByRole('tab', { name: 'Simulator' }).click();
      await sim.getByRole('button', { name: 'Start' }).click();
      const log = sim.getByRole('log', { name: 'Conversation' });
      await log.getByRole('button', { name: 'Prices' }).click();
      await sim.getByText(/Session completed/).waitFor();
      assert.equal(await sim.getByLabel('Message').count(), 0, 'a dead message box is still offered');
      await env.shot('firstui-03-simulator-ended');
      await sim.getByRole('button', { name: 'Restart the conversation' }).click();
      await sim.getByLabel('Message').waitFor();
      await log.getByRole('button', { name: 'Book' }).waitFor();
      assert.equal(await log.getByText('A haircut is 30 €.').count(), 0, 'the restart kept the old conversation');

      // Analytics with no real session say why they are empty.
      assert.equal((await apiCall(page, 'POST', `/chat-flow/flows/${f.json.id}/publish/`, {})).status, 200);
      await openFlow(env, f.json.id);
      await page.getByRole('button', { name: 'Analytics' }).click();
      await page.getByRole('status').getByText('Simulator sessions are not counted').waitFor();
      await env.shot('firstui-04-analytics-empty');
    },
  },
  {
    name: 'firstui: triggers for channel types this build cannot connect are offered disabled',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      // The server's word: the start type's trigger channel types, which
      // follow the channel registry (GET /channel-types/).
      const real = (await apiCall(page, 'GET', '/chat-flow/node-types/')).json.results.find((t) => t.type === 'start');
      assert.deepEqual(
        real.trigger_channel_types.filter((c) => c.available).map((c) => c.type).sort(),
        (await apiCall(page, 'GET', '/channel-types/')).json.results.map((t) => t.name).sort(),
      );
      // This build connects every channel type, so the page is shown a
      // server answer in which Viber is not connectable (as in a build
      // without its adapter): the UI must take availability from the server.
      await page.route('**/chat-flow/node-types/**', async (route) => {
        const res = await route.fetch();
        const body = await res.json();
        for (const t of body.results ?? []) {
          for (const c of t.trigger_channel_types ?? []) {
            if (c.type === 'viber') Object.assign(c, { available: false, unavailable_reason: 'this build has no viber channel type' });
          }
        }
        await route.fulfill({ response: res, json: body });
      });
      await page.reload();
      await page.getByRole('heading', { name: 'Flows', exact: true }).waitFor();
      const start = (await apiCall(page, 'GET', '/chat-flow/node-types/')).json.results.find((t) => t.type === 'start');
      const types = start.trigger_channel_types.filter((c) => c.available).map((c) => c.type);
      assert.ok(!types.includes('viber'));
      await page.getByRole('button', { name: 'New flow' }).click();
      const dlg = page.getByRole('dialog', { name: 'New flow' });
      await dlg.getByRole('tab', { name: 'Blank canvas' }).click();
      const cases = [
        ['whatsapp', 'Inbound WhatsApp message'],
        ['messenger', 'Inbound Messenger message'],
        ['instagram', 'Inbound Instagram message'],
        ['viber', 'Inbound Viber message'],
      ];
      let unavailable = 0;
      for (const [type, label] of cases) {
        const choice = dlg.locator('label.choice', { hasText: label });
        const disabled = await choice.locator('input').isDisabled();
        assert.equal(disabled, !types.includes(type), `${label}: disabled=${disabled}, server types ${types}`);
        if (disabled) {
          unavailable++;
          assert.match(await choice.innerText(), /unavailable in this build/i);
        }
      }
      assert.equal(unavailable, 1, 'Viber is offered disabled');
      assert.ok(await dlg.locator('label.choice', { hasText: 'Keyword' }).locator('input').isEnabled());
      await env.shot('firstui-05-triggers');

      // The start node's form offers the same channel types, the unavailable ones disabled.
      await dlg.getByRole('tab', { name: 'From a template' }).click();
      await dlg.getByText('Appointment booking').click();
      await dlg.getByRole('button', { name: 'Create flow' }).click();
      await node(page, 'start').click();
      const picker = page.getByRole('group', { name: 'Channel types' });
      for (const c of start.trigger_channel_types) {
        const box = picker.getByRole('checkbox', { name: new RegExp(`^${c.type}\\b`) });
        assert.equal(await box.isDisabled(), !c.available, `${c.type} in the start form`);
        if (!c.available) assert.match(await picker.locator('label', { hasText: c.type }).innerText(), /unavailable in this build/);
      }
      await picker.getByRole('checkbox', { name: /^whatsapp/ }).check();
      await page.getByText('Unsaved changes').waitFor();
      await env.shot('firstui-05b-start-channel-types');
    },
  },
  {
    name: 'firstui: templates — WhatsApp channel first, no NONE on approved ones, search by part of the name or text',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      const chans = (await apiCall(page, 'GET', '/channels/')).json.results;
      const wa = chans.find((c) => c.type === 'whatsapp');
      assert.ok(wa, 'the sandbox has a WhatsApp channel');
      const created = await apiCall(page, 'POST', '/templates/', {
        channel_id: wa.id,
        name: 'order_shipped_notice',
        language: 'en_US',
        category: 'UTILITY',
        components: [{ type: 'BODY', text: 'Your parcel left our warehouse today.' }],
      });
      assert.equal(created.status, 201, created.text);
      // The sandbox approves it like Meta (a status webhook with reason NONE).
      let approved = null;
      for (let i = 0; i < 100 && !approved; i++) {
        const l = await apiCall(page, 'GET', '/templates/?name=order_shipped_notice');
        if (l.json.results?.[0]?.status === 'APPROVED') approved = l.json.results[0];
        else await page.waitForTimeout(200);
      }
      assert.ok(approved, 'the sandbox did not approve the template');
      assert.ok(!approved.reason, `an approved template has the reason ${JSON.stringify(approved.reason)}`);
      await page.getByRole('link', { name: 'Templates' }).click();
      const row = page.getByRole('row', { name: /order_shipped_notice/ });
      await row.getByText('APPROVED').waitFor();
      assert.doesNotMatch(await row.innerText(), /NONE/);
      const search = page.getByRole('searchbox', { name: 'Search templates' });
      for (const q of ['shipped', 'WAREHOUSE']) {
        await search.fill(q);
        await row.waitFor();
      }
      await search.fill('no such words');
      await page.getByText('No template matches').waitFor();
      await search.fill('parcel');
      await row.waitFor();
      await env.shot('firstui-06-templates');

      // A project without a WhatsApp channel says so before any form.
      const home = (await apiCall(page, 'GET', '/auth/me')).json.project_id;
      const p = await apiCall(page, 'POST', '/projects/', { name: 'No channels yet' });
      assert.equal(p.status, 201, p.text);
      assert.equal((await apiCall(page, 'POST', '/auth/project', { project_id: p.json.id })).status, 200);
      await page.goto(env.base + '/app/templates');
      await page.getByRole('note').getByText('Connect a WhatsApp channel first.').waitFor();
      await page.getByRole('note').getByRole('link', { name: /Channels page/ }).waitFor();
      await env.shot('firstui-07-templates-no-channel');
      // The form says it too, at its top, before anything is filled; submitting is off.
      await page.getByRole('button', { name: 'New template' }).click();
      const dlg = page.getByRole('dialog', { name: 'New template' });
      await dlg.getByRole('note').getByText('Connect a WhatsApp channel first.').waitFor();
      const noteBox = await dlg.getByRole('note').boundingBox();
      const nameBox = await dlg.getByLabel('Name', { exact: true }).boundingBox();
      assert.ok(noteBox.y < nameBox.y, 'the channel check is below the form');
      assert.ok(await dlg.getByRole('button', { name: 'Create and submit to Meta' }).isDisabled());
      assert.equal((await apiCall(page, 'POST', '/auth/project', { project_id: home })).status, 200);
    },
  },
  {
    name: 'firstui: inputs carry the server limits from /openapi.json; names are trimmed',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      const doc = (await apiCall(page, 'GET', '/openapi.json')).json;
      const max = (schema, prop) => doc.components.schemas[schema].properties[prop].maxLength;
      await page.getByRole('button', { name: 'New flow' }).click();
      const dlg = page.getByRole('dialog', { name: 'New flow' });
      assert.equal(Number(await dlg.getByLabel('Flow name').getAttribute('maxlength')), max('FlowCreateBody', 'name'));
      await dlg.getByRole('tab', { name: 'Blank canvas' }).click();
      await dlg.getByLabel('Flow name').fill('   Spaced out   ');
      await dlg.getByText('Manual / API').click();
      await dlg.getByRole('button', { name: 'Create flow' }).click();
      await page.getByRole('heading', { name: 'Spaced out', exact: true }).waitFor();
      const id = page.url().split('/flows/')[1];
      assert.equal((await apiCall(page, 'GET', `/chat-flow/flows/${id}/`)).json.name, 'Spaced out');
      await page.getByRole('tab', { name: 'Simulator' }).click();
      assert.equal(Number(await page.getByRole('region', { name: 'Simulator' }).getByLabel('Message').getAttribute('maxlength')), max('SimMessageInputBody', 'text'));

      await page.goto(env.base + '/app/settings');
      const tok = page.getByLabel('Token name');
      await tok.waitFor();
      assert.equal(Number(await tok.getAttribute('maxlength')), max('TokenCreateInputBody', 'name'));
      await tok.fill('  ci robot  ');
      await page.getByRole('button', { name: 'Create token' }).click();
      let toks = [];
      for (let i = 0; i < 50 && !toks.some((t) => t.name.includes('ci robot')); i++) {
        await page.waitForTimeout(100);
        toks = (await apiCall(page, 'GET', '/tokens/')).json.results ?? [];
      }
      assert.ok(toks.some((t) => t.name === 'ci robot'), `token names: ${toks.map((t) => JSON.stringify(t.name))}`);

      await page.goto(env.base + '/app/channels');
      await page.getByRole('button', { name: /^Add / }).first().click();
      assert.equal(Number(await page.getByRole('dialog').getByLabel('Name', { exact: true }).getAttribute('maxlength')), max('ChannelCreateInputBody', 'name'));
    },
  },
  {
    name: 'firstui: the inbox marks conversations waiting for a human and filters them',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      // Play two customers on the sandbox channel: one asks for a human (the
      // booking flow's handoff), the other only starts booking.
      const ch = (await apiCall(page, 'GET', '/sandbox/channels/')).json.items?.[0];
      assert.ok(ch, 'no sandbox channel');
      const say = async (from, name, body) => {
        const r = await apiCall(page, 'POST', '/sandbox/messages/', { channel_id: ch.id, from, name, ...body });
        assert.equal(r.status, 201, r.text);
      };
      const waitFor = async (pred, what) => {
        for (let i = 0; i < 100; i++) {
          const l = (await apiCall(page, 'GET', '/contacts/?limit=100')).json.results ?? [];
          if (pred(l)) return l;
          await page.waitForTimeout(100);
        }
        throw new Error('timed out waiting for ' + what);
      };
      await say('15550101001', 'Hana Human', { text: 'book' });
      await waitFor((l) => l.some((c) => c.name === 'Hana Human'), 'Hana');
      await page.waitForTimeout(500); // the welcome with its buttons
      await say('15550101001', 'Hana Human', { button: 'Talk to a human' });
      await say('15550101002', 'Bo Booker', { text: 'book' });
      await waitFor((l) => l.some((c) => c.name === 'Hana Human' && c.waiting_for_human) && l.some((c) => c.name === 'Bo Booker'), 'the handoff');

      await page.getByRole('link', { name: 'Conversations' }).click();
      const contacts = page.getByRole('navigation', { name: 'Contacts' });
      const hana = contacts.getByRole('link', { name: /Hana Human/ });
      await hana.getByText('waiting for a human').waitFor();
      await contacts.getByRole('link', { name: /Bo Booker/ }).waitFor();
      assert.equal(await contacts.getByRole('link', { name: /Bo Booker/ }).getByText('waiting for a human').count(), 0);
      await page.getByRole('tab', { name: 'Waiting for a human' }).click();
      await contacts.getByRole('link', { name: /Bo Booker/ }).waitFor({ state: 'detached' });
      await hana.waitFor();
      await hana.click();
      await page.getByRole('status').getByText('Waiting for a human.').waitFor();
      await env.shot('firstui-08-inbox-waiting-for-human');
      // Released: the mark and the filter's entry go.
      await page.getByRole('button', { name: 'Release handoff' }).click();
      await page.getByRole('status').getByText('Waiting for a human.').waitFor({ state: 'detached' });
      await page.getByRole('tab', { name: 'All' }).click();
      await page.getByRole('tab', { name: 'Waiting for a human' }).click();
      await page.getByText('No conversation waits for a human').waitFor();
    },
  },
];
