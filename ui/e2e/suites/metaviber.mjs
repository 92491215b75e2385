// Messenger, Instagram and Viber channels in the UI: `serve --sandbox`
// lists a ready channel of each; their forms (built from /channel-types/)
// show each platform's settings; a Viber bot connected from the form is
// registered with the (fake) Viber API, which checks the webhook against
// this server before the channel is kept.
import assert from 'node:assert/strict';
import { apiCall } from '../lib.mjs';

export const serverArgs = ['--sandbox'];

export const tests = [
  {
    name: 'metaviber: Messenger, Instagram and Viber channels from the form',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      await page.getByRole('link', { name: 'Channels' }).click();
      await page.getByRole('heading', { name: 'Channels' }).waitFor();
      for (const name of ['Sandbox Facebook Messenger', 'Sandbox Instagram messaging', 'Sandbox Viber bot']) {
        await page.getByText(name, { exact: true }).first().waitFor();
      }
      await env.shot('metaviber-01-channels');

      // Messenger: every field of the form reaches the channel.
      await page.getByRole('button', { name: 'Add Facebook Messenger' }).click();
      let dlg = page.getByRole('dialog', { name: 'Add Facebook Messenger' });
      await dlg.getByLabel('Name', { exact: true }).fill('Our Page');
      await dlg.getByLabel('Page ID', { exact: true }).fill('123456789012345');
      await dlg.getByLabel('Access token', { exact: true }).fill('EAAG-e2e-page-token');
      await dlg.getByLabel('App secret', { exact: true }).fill('e2e-meta-secret');
      await dlg.getByLabel('Verify token', { exact: true }).fill('e2e-verify');
      await dlg.getByLabel('Messages per second', { exact: true }).fill('50');
      await env.shot('metaviber-02-messenger-form');
      await dlg.getByRole('button', { name: 'Connect' }).click();
      await page.getByRole('dialog', { name: /is connected/ }).getByRole('button', { name: 'Done' }).click();
      let chs = await apiCall(page, 'GET', '/channels/');
      const fb = chs.json.results.find((c) => c.type === 'messenger' && c.config.page_id === '123456789012345');
      assert.ok(fb, 'the Messenger channel was not created');
      assert.equal(fb.config.messages_per_second, 50);
      assert.notEqual(fb.config.access_token, 'EAAG-e2e-page-token', 'a secret came back');

      // Instagram: the form names the Instagram account.
      await page.getByRole('button', { name: 'Add Instagram messaging' }).click();
      dlg = page.getByRole('dialog', { name: 'Add Instagram messaging' });
      await dlg.getByLabel('Instagram account ID', { exact: true }).waitFor();
      await env.shot('metaviber-03-instagram-form');
      await dlg.getByRole('button', { name: 'Cancel' }).click();

      // Viber: connected against the sandbox's fake Viber API, which calls
      // this server's webhook before accepting it.
      const sandboxViber = chs.json.results.find((c) => c.type === 'viber');
      assert.ok(sandboxViber, 'no sandbox Viber channel');
      await page.getByRole('button', { name: 'Add Viber bot' }).click();
      dlg = page.getByRole('dialog', { name: 'Add Viber bot' });
      await dlg.getByLabel('Name', { exact: true }).fill('Second bot');
      await dlg.getByLabel('Bot token', { exact: true }).fill('sandbox-viber-bot-token');
      await dlg.getByLabel('Sender name', { exact: true }).fill('Shop bot');
      await dlg.getByLabel('Welcome message', { exact: true }).fill('Hello from the shop!');
      await dlg.getByLabel('API base URL', { exact: true }).fill(sandboxViber.config.api_base_url);
      await env.shot('metaviber-04-viber-form');
      await dlg.getByRole('button', { name: 'Connect' }).click();
      await page.getByRole('dialog', { name: /is connected/ }).getByRole('button', { name: 'Done' }).click();
      chs = await apiCall(page, 'GET', '/channels/');
      const vb = chs.json.results.find((c) => c.type === 'viber' && c.name === 'Second bot');
      assert.ok(vb, 'the Viber channel was not created');
      assert.equal(vb.config.welcome_message, 'Hello from the shop!');

      // A wrong token: the fake Viber API refuses set_webhook; the form
      // says why and nothing is kept.
      await page.getByRole('button', { name: 'Add Viber bot' }).click();
      dlg = page.getByRole('dialog', { name: 'Add Viber bot' });
      await dlg.getByLabel('Name', { exact: true }).fill('Bad bot');
      await dlg.getByLabel('Bot token', { exact: true }).fill('wrong-token');
      await dlg.getByLabel('Sender name', { exact: true }).fill('Bad');
      await dlg.getByLabel('API base URL', { exact: true }).fill(sandboxViber.config.api_base_url);
      await dlg.getByRole('button', { name: 'Connect' }).click();
      await dlg.getByText(/invalidAuthToken/).waitFor();
      await env.shot('metaviber-05-viber-refused');
      chs = await apiCall(page, 'GET', '/channels/');
      assert.ok(!chs.json.results.some((c) => c.name === 'Bad bot'), 'a refused Viber channel was kept');
    },
  },
];
