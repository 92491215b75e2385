// Meta's notices pause a campaign, in the browser against the sandbox: a
// campaign runs on the sandbox number, Meta (the sandbox, through
// POST /sandbox/notices/ as `parley sandbox notice` does) flags the
// number's quality, and the campaign page shows the execution paused with
// Meta's reason; after a resume an account restriction pauses it again.
import { apiCall } from '../lib.mjs';

export const serverArgs = ['--sandbox'];

async function until(what, fn, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

export const tests = [
  {
    name: 'campquality: a quality drop reported by Meta pauses the campaign with its reason',
    fn: async (env) => {
      const { page } = env;
      await env.login();

      // The survey's approved template and flow on the sandbox number.
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

      // Sixty contacts, started one a second: still running when Meta speaks.
      let csv = 'phone,name\n';
      for (let i = 0; i < 60; i++) csv += `+3519160${String(i).padStart(5, '0')},P${i}\n`;
      const ds = await page.evaluate(async (csv) => {
        const csrf = /(?:^|;\s*)parley_csrf=([^;]+)/.exec(document.cookie)?.[1] ?? '';
        const form = new FormData();
        form.append('file', new Blob([csv], { type: 'text/csv' }), 'people.csv');
        const res = await fetch('/datasets/', { method: 'POST', body: form, headers: { 'X-CSRF-Token': decodeURIComponent(csrf) } });
        return { status: res.status, json: await res.json() };
      }, csv);
      if (ds.status !== 202) throw new Error('upload: ' + JSON.stringify(ds));
      await until('the dataset ready', async () => (await apiCall(page, 'GET', `/datasets/${ds.json.id}/`)).json.status === 'ready');
      const camp = await apiCall(page, 'POST', '/campaigns/', { name: 'Quality watch', flow_id: flow.json.id, channel_ids: [ch.id], dataset_ids: [ds.json.id] });
      if (camp.status !== 201) throw new Error('campaign: ' + camp.text);
      const ex = await apiCall(page, 'POST', `/campaigns/${camp.json.id}/executions/`, { batch_size: 1, batch_delay_seconds: 1 });
      if (ex.status !== 201) throw new Error('execution: ' + ex.text);

      await page.goto(`${env.base}/app/campaigns/${camp.json.id}#progress`);
      await page.getByRole('heading', { name: 'Quality watch' }).waitFor();
      const bar = page.getByRole('progressbar', { name: 'Rows processed' });
      await bar.waitFor();
      await until('a first start', async () => Number(await bar.getAttribute('aria-valuenow')) >= 1);

      // Meta flags the number: the page shows the pause and why.
      const n = await apiCall(page, 'POST', '/sandbox/notices/', { channel_id: ch.id, field: 'phone_number_quality_update', event: 'FLAGGED', current_limit: 'TIER_250' });
      if (n.status !== 201) throw new Error('notice: ' + n.text);
      await page.getByRole('button', { name: 'Resume' }).waitFor();
      await page.locator('.execution').getByText(/paused automatically: Meta flagged the quality of number .* as low \(messaging limit now TIER_250\)/).waitFor();
      // The campaign's own status and reason, in the page's header, follow.
      await until('the campaign shown paused with the reason', async () =>
        (await page.getByText(/paused automatically: Meta flagged the quality/).count()) >= 2);
      await env.shot('campquality-1-flagged');
      const held = Number(await bar.getAttribute('aria-valuenow'));
      await page.waitForTimeout(2500);
      const after = Number(await bar.getAttribute('aria-valuenow'));
      if (after > held + 1) throw new Error(`the bar moved from ${held} to ${after} while paused`);

      // Resumed, it runs; an account restriction pauses it again.
      await page.getByRole('button', { name: 'Resume' }).click();
      await page.getByRole('button', { name: 'Pause', exact: true }).waitFor();
      const r = await apiCall(page, 'POST', '/sandbox/notices/', { channel_id: ch.id, field: 'account_update', event: 'ACCOUNT_RESTRICTION' });
      if (r.status !== 201) throw new Error('restriction: ' + r.text);
      await page.locator('.execution').getByText(/Meta restricted the business account: RESTRICTED_BIZ_INITIATED_MESSAGING/).waitFor();
      await page.getByRole('button', { name: 'Resume' }).waitFor();
      await env.shot('campquality-2-restricted');
    },
  },
];
