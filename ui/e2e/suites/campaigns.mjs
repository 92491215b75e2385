// Campaigns in the browser against the sandbox: upload docs/campaign-sample.csv,
// map it (the default country turns local numbers valid), pass the checklist,
// start, watch the live bar, pause, resume, and read a completed report with
// delivered and read counts from the sandbox's status webhooks.
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { apiCall, skip } from '../lib.mjs';

export const serverArgs = ['--sandbox'];

const sample = resolve(import.meta.dirname, '../../../docs/campaign-sample.csv');

async function until(what, fn, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

const statValue = async (page, scope, label) => {
  const t = await page.getByLabel(scope).locator('.stat', { hasText: label }).first().locator('strong').textContent();
  return Number(String(t).replace(/[^\d]/g, ''));
};

export const tests = [
  {
    name: 'campaigns: upload, map, checklist, start, pause, resume, report',
    fn: async (env) => {
      if (!existsSync(sample)) throw skip('docs/campaign-sample.csv is missing');
      const { page } = env;
      await env.login();

      // What the newcomer's campaign needs besides the campaign itself: the
      // survey's approved template on the sandbox number and the built-in
      // campaign survey flow, published.
      const chans = await apiCall(page, 'GET', '/channels/');
      const ch = (chans.json.results ?? chans.json.items ?? []).find((c) => c.name === 'Sandbox WhatsApp');
      if (!ch) throw new Error('no sandbox channel: ' + chans.text);
      const tpl = await apiCall(page, 'POST', '/templates/', {
        channel_id: ch.id, name: 'survey_invite', language: 'en_US', category: 'MARKETING',
        components: [
          { type: 'BODY', text: 'Hi {{1}}, do you have a minute for our survey?', example: { body_text: [['Ann']] } },
          { type: 'BUTTONS', buttons: [{ type: 'QUICK_REPLY', text: 'Yes' }, { type: 'QUICK_REPLY', text: 'No' }] },
        ],
      });
      if (tpl.status !== 201) throw new Error('template: ' + tpl.text);
      await until('the template approved', async () => (await apiCall(page, 'GET', `/templates/${tpl.json.id}/`)).json.status === 'APPROVED');
      const flow = await apiCall(page, 'POST', '/chat-flow/flows/from-template/', { template: 'campaign_survey', is_active: true, name: 'Campaign survey' });
      if (flow.status !== 201) throw new Error('flow: ' + flow.text);

      // The list, then a new campaign.
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Campaigns' }).click();
      await page.getByRole('heading', { name: 'Campaigns', exact: true }).waitFor();
      await page.getByRole('button', { name: 'Create your first campaign' }).click();
      await page.getByLabel('Name').fill('Spring survey');
      await page.getByRole('button', { name: 'Create campaign' }).click();
      await page.getByRole('heading', { name: 'Spring survey' }).waitFor();

      // A new campaign fails its checklist; each failed item says how to fix
      // it, and its "Fix it" opens the tab where it is fixed.
      await page.getByRole('tab', { name: 'Checklist & start' }).click();
      await page.getByText('Fix the items marked ✗ to start.').waitFor();
      const fixes = page.getByRole('button', { name: 'Fix it' });
      if ((await fixes.count()) < 2) throw new Error(`${await fixes.count()} "Fix it" links on a campaign with no flow, channel or dataset`);
      await env.shot('campaigns-0-checklist-fails');
      await fixes.first().click();
      await page.getByLabel('The flow each contact goes through').waitFor();
      if ((await page.getByRole('tab', { name: 'Setup' }).getAttribute('aria-selected')) !== 'true') throw new Error('"Fix it" did not open the Setup tab');

      // Setup: the flow and the sandbox number.
      await page.getByLabel('The flow each contact goes through').selectOption({ label: 'Campaign survey (published, campaign trigger)' });
      await page.getByRole('checkbox', { name: 'Sandbox WhatsApp' }).check();
      await env.shot('campaigns-1-setup');
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      await page.getByText('Campaign saved').waitFor();

      // Contacts: upload without a country, so local numbers are invalid…
      await page.getByRole('tab', { name: 'Contacts' }).click();
      await page.getByLabel('CSV file').setInputFiles(sample);
      await page.getByRole('button', { name: 'Upload', exact: true }).click();
      await page.getByText('1. Map the columns').waitFor();
      const counts = page.getByLabel('Row counts');
      await counts.waitFor();
      const validBefore = await statValue(page, 'Row counts', 'Valid');
      // …then the mapping step: the phone column and the default country.
      await page.getByLabel('Phone column (required)').selectOption('phone');
      await page.getByLabel('Default country code').fill('PT');
      await page.getByRole('button', { name: 'Apply mapping' }).click();
      await until('the re-mapped counts', async () => (await statValue(page, 'Row counts', 'Valid').catch(() => 0)) === 8);
      if (validBefore >= 8) throw new Error(`${validBefore} valid rows before the country was set; the local number should not be`);
      // The preview shows normalised phones and the problems found.
      const preview = page.locator('table', { has: page.locator('caption', { hasText: 'The first rows' }) });
      await preview.getByText('+351912345003').waitFor();
      await preview.getByText('Duplicate').first().waitFor();
      await preview.getByText('Invalid phone').first().waitFor();
      await env.shot('campaigns-2-mapping');
      // The row report lists the rows with one outcome.
      await page.getByText('Row report: every row by outcome').click();
      await page.getByLabel('Rows with outcome').selectOption('duplicate');
      await page.locator('table', { has: page.locator('caption', { hasText: 'Duplicate rows' }) }).getByText('same phone as row 1').first().waitFor();
      await page.getByRole('button', { name: 'Use in this campaign' }).click();
      await page.getByText('This campaign uses this dataset').waitFor();

      // The checklist passes; slow batches so there is time to pause.
      await page.getByRole('tab', { name: 'Checklist & start' }).click();
      await page.getByText('Everything is ready.').waitFor();
      await page.getByLabel('Batch size (rows)').fill('1');
      await page.getByLabel('Delay between batches (s)').fill('2');
      await env.shot('campaigns-3-checklist');
      // From here on, the page refreshes itself (the campaign, its
      // executions, the live counts): none of those refreshes may blank it
      // to "Loading…" (only the first load does).
      await page.evaluate(() => {
        window.__blanked = [];
        const seen = () => {
          const l = document.querySelector('.loading');
          if (l) window.__blanked.push(l.textContent);
          if (!document.querySelector('h1')) window.__blanked.push('no heading');
        };
        window.__blankObserver = new MutationObserver(seen);
        window.__blankObserver.observe(document.body, { childList: true, subtree: true, characterData: true });
      });
      await page.getByRole('button', { name: 'Start campaign' }).click();

      // The live bar: it moves, then pause, resume, completed.
      const bar = page.getByRole('progressbar', { name: 'Rows processed' });
      await bar.waitFor();
      await page.getByText('● live').waitFor();
      await until('a first start', async () => Number(await bar.getAttribute('aria-valuenow')) >= 1);
      // The campaign read again after the pause fails: the page keeps its
      // content and says so above it.
      const failCampaign = (route) =>
        route.request().method() === 'GET' && route.request().resourceType() === 'fetch'
          ? route.fulfill({ status: 503, contentType: 'application/problem+json', body: JSON.stringify({ title: 'Service Unavailable', status: 503, detail: 'test: the campaign is unavailable' }) })
          : route.continue();
      const campaignApi = /\/campaigns\/[^/?#]+\/(\?.*)?$/;
      await page.route(campaignApi, failCampaign);
      await page.getByRole('button', { name: 'Pause', exact: true }).click();
      await page.getByRole('button', { name: 'Resume' }).waitFor();
      await page.getByRole('alert').filter({ hasText: 'the campaign is unavailable' }).waitFor();
      await page.getByRole('heading', { name: 'Spring survey' }).waitFor();
      await bar.waitFor();
      await page.screenshot({ path: '/tmp/uipolish-campaign-refresh-failed.png' });
      await page.unroute(campaignApi, failCampaign);
      const held = Number(await bar.getAttribute('aria-valuenow'));
      await env.shot('campaigns-4-paused');
      await page.waitForTimeout(2500);
      const after = Number(await bar.getAttribute('aria-valuenow'));
      if (after > held + 1) throw new Error(`the bar moved from ${held} to ${after} while paused`);
      if (after >= 8) throw new Error('every row started before the pause');
      await page.getByRole('button', { name: 'Resume' }).click();
      await until('the execution completed', async () => (await page.locator('.execution .badge').textContent()) === 'completed', 60000);
      if (Number(await bar.getAttribute('aria-valuenow')) !== 8) throw new Error('the bar did not reach 8 of 8');
      await env.shot('campaigns-5-completed');
      const blanked = await page.evaluate(() => { window.__blankObserver.disconnect(); return window.__blanked; });
      if (blanked.length) throw new Error('a live refresh blanked the campaign page: ' + JSON.stringify(blanked));

      // The report: delivered and read from the sandbox's statuses.
      await page.getByRole('button', { name: 'See the report' }).click();
      await page.getByRole('heading', { name: 'Delivery funnel' }).waitFor();
      await until('delivered and read in the report', async () => {
        const d = await statValue(page, 'Totals', 'Delivered');
        const r = await statValue(page, 'Totals', 'Read');
        if (d >= 8 && r >= 8) return true;
        await page.getByRole('button', { name: 'Refresh' }).click();
        await page.waitForTimeout(500);
        return false;
      });
      await page.getByRole('img', { name: 'Delivery funnel' }).waitFor();
      await page.getByRole('img', { name: 'Template performance' }).waitFor();
      await page.getByRole('img', { name: 'Messages and responses per hour' }).waitFor();
      await env.shot('campaigns-6-report');
      await page.getByRole('heading', { name: 'Per channel' }).scrollIntoViewIfNeeded();
      await env.shot('campaigns-6b-report-outcomes');
      const csv = await apiCall(page, 'GET', page.url().includes('/campaigns/') ? `/campaigns/${page.url().split('/campaigns/')[1].split(/[/#]/)[0]}/report/recipients.csv` : '');
      if (csv.status !== 200 || csv.text.trim().split('\n').length < 12) throw new Error('recipients.csv: ' + csv.status + ' ' + csv.text.slice(0, 300));
    },
  },
];

tests.push({
  name: 'campaigns: New flow opens the canvas with the campaign trigger',
  fn: async (env) => {
    const { page } = env;
    await env.login();
    const c = await apiCall(page, 'POST', '/campaigns/', { name: 'Flowless' });
    if (c.status !== 201) throw new Error('campaign: ' + c.text);
    await page.goto(`${env.base}/app/campaigns/${c.json.id}`);
    await page.getByRole('button', { name: 'New flow' }).click();
    await page.locator('.react-flow__node').first().waitFor();
    const flowId = page.url().split('/flows/')[1].replace(/[/?#].*$/, '');
    const f = await apiCall(page, 'GET', `/chat-flow/flows/${flowId}/`);
    const start = (f.json.flow_data?.nodes ?? []).find((n) => n.type === 'start');
    if (start?.data?.trigger?.type !== 'campaign') throw new Error('the new flow has no campaign trigger: ' + JSON.stringify(start));
    const again = await apiCall(page, 'GET', `/campaigns/${c.json.id}/`);
    if (again.json.flow_id !== flowId) throw new Error('the campaign does not run the new flow: ' + again.text);
    await env.shot('campaigns-7-new-flow');
  },
});
