// Issue #21, "the UI everywhere": every page passes axe-core (no critical
// or serious violation) in light and dark, fits a 390 px phone without
// horizontal scrolling, an agent answers a conversation from a phone, and
// the main actions work from the keyboard alone. Runs on its own
// `serve --sandbox` server (a sandbox channel to play customers on).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { apiCall } from '../lib.mjs';

export const serverArgs = ['--sandbox'];
const SHOTS = join(import.meta.dirname, '../../../build/ui-screenshots');

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** A context of our own: axe is injected as a script tag, which the server's CSP would (rightly) refuse. */
async function newPage(env, opts = {}) {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 860 }, bypassCSP: true, ...opts });
  const page = await context.newPage();
  page.setDefaultTimeout(Number(process.env.E2E_TIMEOUT ?? 15000));
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return { context, page, errors };
}

async function login(env, page) {
  await page.goto(env.base + '/app/');
  await page.getByLabel('Email').fill(env.email);
  await page.getByLabel('Password').fill(env.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Flows', exact: true }).waitFor();
}

/** Data for every page to show something: a flow, a campaign, a WhatsApp Flow, a customer's conversation. */
async function seed(env, page) {
  if (env.shared.uiall) return env.shared.uiall;
  const flow = await apiCall(page, 'POST', '/chat-flow/flows/from-template/', { template: 'appointment_booking', name: 'Everywhere booking' });
  assert.equal(flow.status, 201, flow.text);
  const camp = await apiCall(page, 'POST', '/campaigns/', { name: 'Everywhere campaign' });
  assert.equal(camp.status, 201, camp.text);
  const waf = await apiCall(page, 'POST', '/whatsapp-flows/', { template: 'appointment_booking', name: 'Everywhere form' });
  const ch = (await apiCall(page, 'GET', '/sandbox/channels/')).json.items?.[0];
  assert.ok(ch, 'no sandbox channel');
  const r = await apiCall(page, 'POST', '/sandbox/messages/', { channel_id: ch.id, from: '15550102001', name: 'Pia Phone', text: 'hello there' });
  assert.equal(r.status, 201, r.text);
  let contact;
  for (let i = 0; i < 100 && !contact; i++) {
    contact = ((await apiCall(page, 'GET', '/contacts/?limit=100')).json.results ?? []).find((c) => c.name === 'Pia Phone');
    if (!contact) await page.waitForTimeout(100);
  }
  assert.ok(contact, 'the sandbox message made no contact');
  env.shared.uiall = { flow: flow.json.id, campaign: camp.json.id, waflow: waf.status === 201 ? waf.json.id : '', contact: contact.id };
  return env.shared.uiall;
}

/** Every page, with what shows that its content (not a placeholder) is there. */
function pages(ids) {
  const h = (name) => (page) => page.getByRole('heading', { name, exact: true }).first().waitFor();
  const list = [
    ['flows', '/flows', h('Flows')],
    ['flow-editor', `/flows/${ids.flow}`, (page) => page.locator('.react-flow__node').first().waitFor()],
    ['conversations', '/conversations', (page) => page.getByRole('navigation', { name: 'Contacts' }).waitFor()],
    ['conversation', `/conversations/${ids.contact}`, (page) => page.getByRole('heading', { name: 'Pia Phone' }).waitFor()],
    ['campaigns', '/campaigns', h('Campaigns')],
    ['campaign', `/campaigns/${ids.campaign}`, h('Everywhere campaign')],
    ['channels', '/channels', h('Channels')],
    ['templates', '/templates', h('Message templates')],
    ['whatsapp-flows', '/whatsapp-flows', h('WhatsApp Flows')],
    ['settings', '/settings', h('Settings')],
  ];
  if (ids.waflow) list.push(['whatsapp-flow', `/whatsapp-flows/${ids.waflow}`, h('Everywhere form')]);
  return list;
}

/** Runs axe-core on the page; returns the critical and serious violations, described. */
async function axe(page) {
  if (!(await page.evaluate(() => !!window.axe))) await page.addScriptTag({ content: axeSource });
  const res = await page.evaluate(async () => {
    // The hidden React Flow live region and the like are not content; axe
    // checks the whole document anyway.
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 4).map((n) => `${n.target.join(' ')} — ${n.failureSummary?.split('\n').slice(0, 3).join(' ')}`) }));
  });
  return res.filter((v) => v.impact === 'critical' || v.impact === 'serious');
}

const fmt = (where, vs) => vs.map((v) => `${where}: [${v.impact}] ${v.id} (${v.help})\n    ${v.nodes.join('\n    ')}`).join('\n');

/** Presses Tab until the focused element matches (a CSS selector or a function), at most max times. */
async function tabTo(page, test, max = 80, key = 'Tab') {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(key);
    const ok = await page.evaluate(
      ({ sel, fn }) => {
        const el = document.activeElement;
        if (!el) return false;
        if (sel) return el.matches(sel);
        // eslint-disable-next-line no-new-func
        return new Function('el', `return (${fn})(el)`)(el);
      },
      typeof test === 'string' ? { sel: test } : { fn: test.toString() },
    );
    if (ok) return;
  }
  const at = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 200));
  throw new Error(`${max} × ${key} never reached ${test}; focus is on ${at}`);
}
const focused = (page) => page.evaluate(() => ({ tag: document.activeElement?.tagName, text: document.activeElement?.textContent?.trim(), label: document.activeElement?.getAttribute('aria-label'), html: document.activeElement?.outerHTML.slice(0, 160) }));

export const tests = [
  {
    name: 'uiall: axe-core finds no critical or serious violation on any page, in light and in dark',
    fn: async (env) => {
      const problems = [];
      for (const scheme of ['light', 'dark']) {
        const { context, page, errors } = await newPage(env, { colorScheme: scheme });
        try {
          await page.goto(env.base + '/app/');
          await page.getByLabel('Email').waitFor();
          problems.push(fmt(`${scheme} login`, await axe(page)));
          await login(env, page);
          // The theme follows the system setting (prefers-color-scheme).
          assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), scheme);
          const bg = await page.evaluate(() => getComputedStyle(document.querySelector('.main')).backgroundColor || getComputedStyle(document.documentElement).backgroundColor);
          const rootBg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
          const lum = (c) => c.match(/\d+/g).slice(0, 3).reduce((a, b) => a + Number(b), 0) / 3;
          assert.ok(scheme === 'dark' ? lum(rootBg) < 60 : lum(rootBg) > 200, `${scheme}: the page background is ${rootBg} (${bg})`);
          const ids = await seed(env, page);
          for (const [name, path, ready] of pages(ids)) {
            await page.goto(env.base + '/app' + path);
            await ready(page);
            await page.waitForTimeout(150);
            problems.push(fmt(`${scheme} ${path}`, await axe(page)));
            await page.screenshot({ path: `${SHOTS}/uiall-${scheme}-${name}.png` }).catch(() => {});
          }
          // Dialogs, the simulator and the node form are checked open too.
          await page.goto(env.base + '/app/flows');
          await page.getByRole('button', { name: 'New flow' }).first().click();
          await page.getByRole('dialog').waitFor();
          problems.push(fmt(`${scheme} new-flow dialog`, await axe(page)));
          await page.keyboard.press('Escape');
          await page.goto(`${env.base}/app/flows/${ids.flow}`);
          await page.locator('.react-flow__node[data-id="start"]').click();
          await page.getByRole('tabpanel').waitFor();
          problems.push(fmt(`${scheme} node form`, await axe(page)));
          await page.getByRole('tab', { name: 'Simulator' }).click();
          await page.getByRole('button', { name: 'Start' }).click();
          await page.locator('.phone .bubble').first().waitFor();
          problems.push(fmt(`${scheme} simulator`, await axe(page)));
          await page.screenshot({ path: `${SHOTS}/uiall-${scheme}-simulator.png` }).catch(() => {});
          await page.goto(`${env.base}/app/campaigns/${ids.campaign}`);
          for (const tab of ['Contacts', 'Start', 'Progress', 'Report']) {
            const t = page.getByRole('tab', { name: tab });
            if (!(await t.count())) continue;
            await t.click();
            await page.waitForTimeout(250);
            problems.push(fmt(`${scheme} campaign ${tab}`, await axe(page)));
          }
          assert.deepEqual(errors, [], 'uncaught errors in the page');
        } finally {
          await context.close();
        }
      }
      const all = problems.filter(Boolean).join('\n');
      assert.equal(all, '', `axe-core violations:\n${all}`);
    },
  },
  {
    name: 'uiall: the theme switch picks light or dark over the system setting and remembers it',
    fn: async (env) => {
      const { context, page } = await newPage(env, { colorScheme: 'light' });
      try {
        await login(env, page);
        const theme = page.getByLabel('Theme');
        assert.equal(await theme.inputValue(), 'system');
        await theme.selectOption('dark');
        assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
        await page.reload();
        await page.getByRole('heading', { name: 'Flows', exact: true }).waitFor();
        assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark', 'the choice is remembered');
        assert.equal(await page.getByLabel('Theme').inputValue(), 'dark');
        // The canvas follows (React Flow's colorMode).
        const ids = await seed(env, page);
        await page.goto(`${env.base}/app/flows/${ids.flow}`);
        await page.locator('.react-flow.dark').waitFor();
        await page.getByLabel('Theme').selectOption('system');
        assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
        await page.emulateMedia({ colorScheme: 'dark' });
        await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
        await page.locator('.react-flow.dark').waitFor();
      } finally {
        await context.close();
      }
    },
  },
  {
    name: 'uiall: at 390 px every page fits the screen and an agent answers a conversation from a phone',
    fn: async (env) => {
      for (const scheme of ['light', 'dark']) {
        const { context, page, errors } = await newPage(env, { viewport: { width: 390, height: 844 }, colorScheme: scheme, isMobile: true, hasTouch: true });
        try {
          await login(env, page);
          const ids = await seed(env, page);
          const wide = [];
          for (const [name, path, ready] of pages(ids)) {
            await page.goto(env.base + '/app' + path);
            await ready(page);
            await page.waitForTimeout(150);
            const m = await page.evaluate(() => ({
              doc: document.scrollingElement.scrollWidth,
              main: document.getElementById('main')?.scrollWidth ?? 0,
              mainW: document.getElementById('main')?.clientWidth ?? 0,
              // With mobile emulation a too-wide page zooms out and widens
              // innerWidth with it: the phone's width is the yardstick.
              w: Math.min(window.innerWidth, document.documentElement.clientWidth, 390),
            }));
            if (m.doc > m.w || m.main > m.mainW) wide.push(`${path}: page ${m.doc} px, main ${m.main}/${m.mainW} px, screen ${m.w} px`);
            await page.screenshot({ path: `${SHOTS}/uiall-phone-${scheme}-${name}.png` }).catch(() => {});
          }
          assert.deepEqual(wide, [], 'pages wider than the phone');

          // The canvas says it needs a wider screen and is view-only.
          await page.goto(`${env.base}/app/flows/${ids.flow}`);
          await page.getByText('Editing a flow needs a wider screen').waitFor();
          assert.equal(await page.getByRole('navigation', { name: 'Components' }).count(), 0, 'no palette on a phone');
          assert.equal(await page.getByRole('button', { name: 'Save and publish' }).count(), 0, 'no editing on a phone');
          const canvas = await page.locator('.react-flow').boundingBox();
          assert.ok(canvas.width > 300 && canvas.height > 300, `the canvas gets ${canvas.width}×${canvas.height} px`);

          // The menu: the top bar folds its links behind a button.
          const nav = page.getByRole('navigation', { name: 'Main' });
          assert.equal(await nav.isVisible(), false, 'the links are folded on a phone');
          await page.getByRole('button', { name: /Menu/ }).click();
          await nav.waitFor();
          await page.screenshot({ path: `${SHOTS}/uiall-phone-${scheme}-menu.png` });
          await nav.getByRole('link', { name: 'Conversations' }).click();
          await page.getByRole('navigation', { name: 'Contacts' }).waitFor();
          assert.equal(await nav.isVisible(), false, 'following a link closes the menu');

          // List → conversation → reply, one pane at a time.
          await page.getByRole('navigation', { name: 'Contacts' }).getByRole('link', { name: /Pia Phone/ }).click();
          await page.getByRole('heading', { name: 'Pia Phone' }).waitFor();
          assert.equal(await page.getByRole('navigation', { name: 'Contacts' }).isVisible(), false, 'the list hides while a conversation is open');
          const reply = page.getByLabel('Reply as an agent');
          await reply.scrollIntoViewIfNeeded();
          const rb = await reply.boundingBox();
          assert.ok(rb.x >= 0 && rb.x + rb.width <= 390, `the reply box is on screen: ${JSON.stringify(rb)}`);
          const text = `From my phone (${scheme})`;
          await reply.fill(text);
          await page.getByRole('button', { name: 'Send', exact: true }).click();
          await page.getByRole('log', { name: 'Message history' }).getByText(text).waitFor();
          await page.screenshot({ path: `${SHOTS}/uiall-phone-${scheme}-replied.png` });
          const sent = (await apiCall(page, 'GET', `/conversations/${ids.contact}/messages/?limit=10`)).json.results ?? [];
          assert.ok(sent.some((m) => m.text === text && m.direction === 'out'), 'the reply was sent');
          await page.getByRole('link', { name: '← All conversations' }).click();
          await page.getByRole('navigation', { name: 'Contacts' }).waitFor();
          assert.deepEqual(errors, [], 'uncaught errors in the page');
        } finally {
          await context.close();
        }
      }
    },
  },
  {
    name: 'uiall: keyboard only: create a flow from a template, reach its nodes, run the simulator, answer a conversation',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      const ids = await seed(env, page);
      await page.goto(env.base + '/app/flows');
      await page.getByRole('heading', { name: 'Flows', exact: true }).waitFor();
      // The skip link comes first and jumps past the top bar.
      await page.keyboard.press('Tab');
      assert.equal((await focused(page)).text, 'Skip to content');
      await page.keyboard.press('Enter');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');

      // New flow → the dialog; its tabs move with the arrow keys.
      await tabTo(page, (el) => el.textContent.trim() === 'New flow');
      await page.keyboard.press('Enter');
      const dlg = page.getByRole('dialog');
      await dlg.waitFor();
      await tabTo(page, '[role=tab][aria-selected=true]');
      assert.equal((await focused(page)).text, 'From a template');
      assert.equal(await dlg.getByRole('tab', { name: 'Blank canvas' }).getAttribute('tabindex'), '-1', 'one Tab stop per tab list');
      await page.keyboard.press('ArrowRight');
      assert.equal((await focused(page)).text, 'Blank canvas');
      assert.equal(await dlg.getByRole('tab', { name: 'Blank canvas' }).getAttribute('aria-selected'), 'true');
      await page.keyboard.press('End');
      assert.equal((await focused(page)).text, 'Generate with AI');
      await page.keyboard.press('Home');
      assert.equal((await focused(page)).text, 'From a template');
      assert.equal(await dlg.getByRole('tabpanel').getAttribute('aria-labelledby'), await dlg.getByRole('tab', { name: 'From a template' }).getAttribute('id'));
      // Escape closes it and focus goes back to the button that opened it.
      await page.keyboard.press('Escape');
      await dlg.waitFor({ state: 'detached' });
      assert.equal((await focused(page)).text, 'New flow', 'focus returns to what opened the dialog');
      await page.keyboard.press('Enter');
      await dlg.waitFor();
      await dlg.getByLabel('Flow name').focus();
      await page.keyboard.type('Keyboard booking');
      await tabTo(page, (el) => el.textContent.trim() === 'Create flow');
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/app\/flows\/[^/]+$/);
      await page.locator('.react-flow__node[data-id="start"]').waitFor();
      await page.getByRole('heading', { name: 'Keyboard booking' }).waitFor();

      // Connections are out of the Tab order; a skip link reaches the nodes.
      assert.equal(await page.locator('.react-flow__edge[tabindex]').count(), 0, 'edges are not Tab stops');
      await page.keyboard.press('Tab'); // the app's skip link
      await tabTo(page, '.canvas-skip');
      await page.keyboard.press('Enter');
      const node = await page.evaluate(() => {
        const el = document.activeElement;
        return { id: el.getAttribute('data-id'), name: el.getAttribute('aria-label') ?? '', desc: el.getAttribute('aria-description') ?? '', outline: getComputedStyle(el.querySelector('.fnode')).outlineStyle };
      });
      assert.equal(node.id, 'start', `the skip link focuses the Start node: ${JSON.stringify(node)}`);
      assert.match(node.name, /^Start start: Keyword: book/);
      assert.match(node.desc, /^Exits: next to welcome\..*Problems: warning /, `the description names the exits and problems: ${node.desc}`);
      assert.notEqual(node.outline, 'none', 'a focused node shows a focus ring');
      // Tab goes from node to node (not through 30-odd connections first).
      await page.keyboard.press('Tab');
      assert.ok(await page.evaluate(() => document.activeElement?.classList.contains('react-flow__node')), 'the next Tab stop is another node');
      // Enter selects the focused node: its form opens in the side panel.
      const second = await page.evaluate(() => document.activeElement.getAttribute('data-id'));
      await page.keyboard.press('Enter');
      await page.locator('.node-form-head').getByText(second).waitFor();
      await env.shot('uiall-keyboard-node-focus');

      // Settings dialog: focus comes back to its button.
      await page.getByRole('button', { name: 'Settings', exact: true }).focus();
      await page.keyboard.press('Enter');
      await page.getByRole('dialog').waitFor();
      // Its hint is tied to its field (the shared Field component).
      const bind = page.getByRole('dialog').getByLabel('Bind account');
      const hintIds = (await bind.getAttribute('aria-describedby')) ?? '';
      assert.match(await page.evaluate((ids) => ids.split(' ').map((id) => document.getElementById(id)?.textContent ?? '').join(' '), hintIds), /bound to one account|Bound to one channel/);
      await page.keyboard.press('Escape');
      await page.getByRole('dialog').waitFor({ state: 'detached' });
      assert.equal((await focused(page)).text, 'Settings');

      // The side panel's tabs: arrows to the simulator; Start moves focus to the reply buttons.
      await page.getByRole('tab', { name: 'Properties' }).focus();
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('ArrowRight');
      assert.equal((await focused(page)).text, 'Simulator');
      await tabTo(page, (el) => el.textContent.trim() === 'Start');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.activeElement?.closest('.bubble.active .bbuttons'));
      const first = await focused(page);
      await page.keyboard.press('Enter'); // tap the first reply button
      await page.waitForFunction((t) => [...document.querySelectorAll('.bubble.in')].some((b) => b.textContent.includes(t)), first.text);
      await page.waitForFunction(() => document.activeElement && (document.activeElement.closest('.bubble.active .bbuttons') || document.activeElement.getAttribute('aria-label') === 'Message'));
      // Typed text: Send keeps focus in the message box.
      await page.getByLabel('Message', { exact: true }).focus();
      await page.keyboard.type('tomorrow');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => [...document.querySelectorAll('.bubble.in')].some((b) => b.textContent.includes('tomorrow')));
      await page.waitForTimeout(200);
      assert.equal((await focused(page)).label, 'Message', 'focus stays in the message box after Send');
      await env.shot('uiall-keyboard-simulator');

      // Answer a conversation.
      await page.goto(env.base + '/app/conversations');
      await page.getByRole('navigation', { name: 'Contacts' }).waitFor();
      await tabTo(page, (el) => el.tagName === 'A' && el.textContent.includes('Pia Phone'));
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Pia Phone' }).waitFor();
      await tabTo(page, '[aria-label="Reply as an agent"]');
      await page.keyboard.type('Answered from the keyboard');
      await page.keyboard.press('Enter');
      await page.getByRole('log', { name: 'Message history' }).getByText('Answered from the keyboard').waitFor();
      const msgs = (await apiCall(page, 'GET', `/conversations/${ids.contact}/messages/?limit=10`)).json.results ?? [];
      assert.ok(msgs.some((m) => m.text === 'Answered from the keyboard'), 'the keyboard reply was sent');
    },
  },
  {
    name: 'uiall: hints and errors describe their fields; pages show content, not a placeholder',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      const ids = await seed(env, page);
      // The node form ties each field's hint to it (aria-describedby).
      await page.goto(`${env.base}/app/flows/${ids.flow}`);
      await page.locator('.react-flow__node[data-id="welcome"]').click();
      const described = await page.evaluate(() =>
        [...document.querySelectorAll('.side [aria-describedby]')].map((el) => ({
          label: el.labels?.[0]?.textContent?.trim() ?? el.getAttribute('aria-label'),
          desc: el.getAttribute('aria-describedby').split(' ').map((id) => document.getElementById(id)?.textContent?.trim() ?? `(missing #${id})`),
        })),
      );
      assert.ok(described.length > 0, 'no field of the node form is described');
      for (const d of described) for (const t of d.desc) assert.ok(t && !t.startsWith('(missing'), `${d.label}: ${t}`);

      // Pages reached by a link render their data without a "Loading…" in
      // between once their code is in (warm start): the data was fetched
      // beside the code.
      await page.goto(env.base + '/app/flows');
      await page.getByRole('heading', { name: 'Flows', exact: true }).waitFor();
      await page.waitForTimeout(2000); // the idle preload of every page's code
      for (const [link, ready] of [
        ['Conversations', () => page.getByRole('navigation', { name: 'Contacts' }).getByRole('link', { name: /Pia Phone/ })],
        ['Campaigns', () => page.getByRole('link', { name: 'Everywhere campaign' })],
        ['Flows', () => page.getByRole('link', { name: 'Everywhere booking' }).first()],
      ]) {
        await page.evaluate(() => {
          window.__sawLoading = false;
          const mo = new MutationObserver(() => {
            if (document.querySelector('.loading')) window.__sawLoading = true;
          });
          mo.observe(document.body, { childList: true, subtree: true });
          window.__mo = mo;
        });
        const t0 = Date.now();
        await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: link, exact: true }).click();
        await ready().waitFor();
        const ms = Date.now() - t0;
        const saw = await page.evaluate(() => {
          window.__mo.disconnect();
          return window.__sawLoading;
        });
        assert.equal(saw, false, `${link}: a Loading… placeholder showed`);
        (env.notes ??= {})[link] = ms;
      }
      // Requests for a page's data start with its code: opening a
      // conversation's URL directly asks for its messages once, early.
      await page.goto(`${env.base}/app/conversations/${ids.contact}`);
      await page.getByRole('heading', { name: 'Pia Phone' }).waitFor();
      const reqs = await page.evaluate(() => performance.getEntriesByType('resource').filter((e) => e.name.includes('/messages/')).length);
      assert.equal(reqs, 1, 'the messages are fetched once (the preloaded answer is used)');
    },
  },
];
